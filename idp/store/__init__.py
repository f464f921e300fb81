"""Redis artifact store: short-lived state that may be lost (sessions, flow records, counters).

One interface for every artifact, after node-oidc-provider's adapter: `upsert`, `find`,
`consume` (read and delete atomically, for single-use artifacts), `destroy`. Keys are
`idp:<kind>:<id>` and every key carries a TTL. A Redis failure surfaces as
`StoreUnavailableError` so pages can say "try again later" instead of a traceback.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from idp.errors import StoreUnavailableError

__all__ = ["ArtifactStore", "connect", "redis_client"]


@contextmanager
def _redis_errors() -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        raise StoreUnavailableError() from exc


def _key(kind: str, ident: str) -> str:
    return f"idp:{kind}:{ident}"


# Lua keeps "count and set the window" atomic on Redis 6.2 (the embedded server), which
# lacks EXPIRE's NX/GT flags.
_INCR_WITH_WINDOW = """
local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
_SADD_EXTEND = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""


class ArtifactStore:
    """Connects on first use, so building an app (e.g. for a CLI command) starts nothing."""

    def __init__(self, connect: Callable[[], redis.Redis]) -> None:
        self._connect = connect
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            with self._lock, _redis_errors():
                if self._client is None:
                    self._client = self._connect()
        return self._client

    def upsert(self, kind: str, ident: str, payload: dict[str, Any], ttl: int) -> None:
        if ttl <= 0:
            raise ValueError("every artifact needs a positive TTL")
        with _redis_errors():
            self.client.set(_key(kind, ident), json.dumps(payload, separators=(",", ":")), ex=ttl)

    def add_once(self, kind: str, ident: str, payload: dict[str, Any], ttl: int) -> bool:
        """Store only if absent (replay caches): True the first time, False ever after."""
        if ttl <= 0:
            raise ValueError("every artifact needs a positive TTL")
        with _redis_errors():
            data = json.dumps(payload, separators=(",", ":"))
            return bool(self.client.set(_key(kind, ident), data, ex=ttl, nx=True))

    def find(self, kind: str, ident: str) -> dict[str, Any] | None:
        with _redis_errors():
            raw = self.client.get(_key(kind, ident))
        return json.loads(raw) if raw is not None else None

    def find_many(self, kind: str, idents: list[str]) -> list[dict[str, Any] | None]:
        if not idents:
            return []
        with _redis_errors():
            raws = self.client.mget([_key(kind, i) for i in idents])
        return [json.loads(r) if r is not None else None for r in raws]

    def consume(self, kind: str, ident: str) -> dict[str, Any] | None:
        """Return the artifact and delete it in one step: a second caller gets None."""
        with _redis_errors():
            raw = self.client.getdel(_key(kind, ident))
        return json.loads(raw) if raw is not None else None

    def destroy(self, kind: str, ident: str) -> bool:
        with _redis_errors():
            return bool(self.client.delete(_key(kind, ident)))

    # Sets: an index from an owner to artifact ids (e.g. a person's sessions).
    def index_add(self, kind: str, owner: str, member: str, ttl: int) -> None:
        with _redis_errors():
            self.client.eval(_SADD_EXTEND, 1, _key(kind, owner), member, ttl)

    def index_members(self, kind: str, owner: str) -> list[str]:
        with _redis_errors():
            members = self.client.smembers(_key(kind, owner))
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    def index_remove(self, kind: str, owner: str, *members: str) -> None:
        if members:
            with _redis_errors():
                self.client.srem(_key(kind, owner), *members)

    # Counters: failures and rate limits.
    def incr(self, kind: str, ident: str, ttl: int) -> int:
        """Count one event; the window starts at the first event and lasts `ttl` seconds."""
        with _redis_errors():
            return int(self.client.eval(_INCR_WITH_WINDOW, 1, _key(kind, ident), ttl))

    def count(self, kind: str, ident: str) -> int:
        with _redis_errors():
            raw = self.client.get(_key(kind, ident))
        return int(raw) if raw is not None else 0

    def reset(self, kind: str, ident: str) -> None:
        self.destroy(kind, ident)

    def ttl(self, kind: str, ident: str) -> int:
        with _redis_errors():
            return max(int(self.client.ttl(_key(kind, ident))), 0)

    def ping(self) -> bool:
        with _redis_errors():
            return bool(self.client.ping())


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
    )


def connect(url: str) -> ArtifactStore:
    return ArtifactStore(lambda: redis_client(url))
