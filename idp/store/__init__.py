"""Redis artifact store: short-lived state that may be lost (sessions, flow records, counters).

One interface for every artifact, after node-oidc-provider's adapter: `upsert`, `find`,
`consume` (read and delete atomically, for single-use artifacts), `destroy`. Every key
carries a TTL. A Redis failure surfaces as `StoreUnavailableError` so pages can say "try
again later" instead of a traceback.

Keys are `idp:<kind>:{<id>}`, or `idp:<kind>:{<group>}:<id>` for an artifact that belongs
to a group (a refresh token to its grant). The braces are a Redis Cluster hash tag: every
key of one id or one group lives in one slot, so an operation on several keys (a script,
MGET) names keys of one tag only and runs alike on one Redis and on a cluster. Scripts
are given every key they touch; none builds a key inside Redis. A `redis+cluster://`
(or `rediss+cluster://`) URL connects redis-py's cluster client instead of a plain one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import redis
from redis.cluster import RedisCluster
from redis.commands.core import Script

from idp.errors import StoreUnavailableError

__all__ = ["ArtifactStore", "Ref", "connect", "key", "redis_client"]


@contextmanager
def _redis_errors() -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        raise StoreUnavailableError() from exc


def key(kind: str, ident: str, group: str | None = None) -> str:
    """The Redis key of an artifact: its hash tag is its group, else its id."""
    if group is None:
        return f"idp:{kind}:{{{ident}}}"
    return f"idp:{kind}:{{{group}}}:{ident}"


class Ref(NamedTuple):
    """An artifact named by kind and id (and group, if it belongs to one)."""

    kind: str
    ident: str
    group: str | None = None

    @property
    def key(self) -> str:
        return key(self.kind, self.ident, self.group)

    @property
    def tag(self) -> str:
        return self.ident if self.group is None else self.group


# Lua keeps "count and set the window" atomic on Redis 6.2 (the embedded server), which
# lacks EXPIRE's NX/GT flags.
_INCR_WITH_WINDOW = """
local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
_DECR_FLOOR = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""
_SADD_EXTEND = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""
# Spend a single-use artifact (KEYS[1]): only if it is there with `used` false, and the
# artifact it depends on (KEYS[2]; KEYS[1] again when there is none) still exists, replace
# it with ARGV[1] (its tombstone) and store ARGV[2] under KEYS[3] (its successor), if
# given; both for ARGV[3] seconds.
_SPEND = """
local raw = redis.call('GET', KEYS[1])
if not raw or cjson.decode(raw)['used'] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
if KEYS[3] then redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[3]) end
return 1
"""

# A guess at an artifact's secret (KEYS[1]; its tries counter KEYS[2]), compared and counted
# in one step so that simultaneous guesses cannot share a try. ARGV: 1 the field holding
# the secret's digest, 2 the guess's digest ('' never matches: a try spent on something
# else), 3 the tries allowed, 4 the counter's TTL if the artifact has none. Returns false
# when the artifact is gone, {1, raw} on a match, {0, tries} otherwise; the try that
# reaches the limit destroys the artifact. (Lua 5.1 interns strings, so == does not
# compare the digests byte by byte.)
_GUESS = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
if ARGV[2] ~= '' and cjson.decode(raw)[ARGV[1]] == ARGV[2] then return {1, raw} end
local tries = redis.call('INCR', KEYS[2])
if tries == 1 then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl)
  else redis.call('EXPIRE', KEYS[2], ARGV[4]) end
end
if tries >= tonumber(ARGV[3]) then redis.call('DEL', KEYS[1], KEYS[2]) end
return {0, tries}
"""


def _dump(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


def _load(raw: bytes | str | None) -> dict[str, Any] | None:
    return json.loads(raw) if raw is not None else None


def _one_tag(refs: tuple[tuple[str, str] | Ref, ...]) -> bool:
    tags = {Ref(*r).tag for r in refs}
    return len(tags) == 1 and "" not in tags


def _positive(ttl: int) -> None:
    if ttl <= 0:
        raise ValueError("every artifact needs a positive TTL")


class ArtifactStore:
    """Connects on first use, so building an app (e.g. for a CLI command) starts nothing."""

    def __init__(self, connect: Callable[[], redis.Redis | RedisCluster]) -> None:
        self._connect = connect
        self._client: redis.Redis | RedisCluster | None = None
        self._cluster = False
        self._lock = threading.Lock()
        self._scripts: dict[str, Script] = {}

    @property
    def client(self) -> Any:  # redis.Redis | RedisCluster, whose commands are alike
        if self._client is None:
            with self._lock, _redis_errors():
                if self._client is None:
                    client = self._connect()
                    self._cluster = isinstance(client, RedisCluster)
                    self._client = client
        return self._client

    @property
    def cluster(self) -> bool:
        return self.client is not None and self._cluster

    def run(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """Run a Lua script atomically (EVALSHA, loading it on first use). `keys` must be
        every key it touches, all of one hash tag (see `key`)."""
        with _redis_errors():
            script = self._scripts.get(source)
            if script is None:
                script = self._scripts[source] = self.client.register_script(source)
            return script(keys=keys, args=args)

    def upsert(
        self, kind: str, ident: str, payload: dict[str, Any], ttl: int, *, group: str | None = None
    ) -> None:
        _positive(ttl)
        with _redis_errors():
            self.client.set(key(kind, ident, group), _dump(payload), ex=ttl)

    def update(self, kind: str, ident: str, payload: dict[str, Any], ttl: int) -> bool:
        """Replace an artifact only if it still exists (SET XX): a record that another
        worker consumed or destroyed meanwhile is never brought back. False if gone."""
        _positive(ttl)
        with _redis_errors():
            return bool(self.client.set(key(kind, ident), _dump(payload), ex=ttl, xx=True))

    def add_once(self, kind: str, ident: str, payload: dict[str, Any], ttl: int) -> bool:
        """Store only if absent (replay caches): True the first time, False ever after."""
        _positive(ttl)
        with _redis_errors():
            return bool(self.client.set(key(kind, ident), _dump(payload), ex=ttl, nx=True))

    def find(self, kind: str, ident: str, *, group: str | None = None) -> dict[str, Any] | None:
        with _redis_errors():
            return _load(self.client.get(key(kind, ident, group)))

    def find_many(self, kind: str, idents: list[str]) -> list[dict[str, Any] | None]:
        return self.find_each(*(Ref(kind, i) for i in idents))

    def find_each(self, *refs: tuple[str, str] | Ref) -> list[dict[str, Any] | None]:
        """Artifacts of any kinds, in one round trip: one MGET (a snapshot) on one Redis or
        when they share a hash tag; on a cluster, a pipeline of GETs split by node."""
        if not refs:
            return []
        client, keys = self.client, [key(*r) for r in refs]
        with _redis_errors():
            if not self._cluster or _one_tag(refs):
                raws = client.mget(keys)
            else:
                with client.pipeline(transaction=False) as pipe:
                    for k in keys:
                        pipe.get(k)
                    raws = pipe.execute()
        return [_load(r) for r in raws]

    def spend(
        self,
        kind: str,
        ident: str,
        tombstone: dict[str, Any],
        ttl: int,
        successor: tuple[str, dict[str, Any]] | None = None,
        *,
        group: str | None = None,
        requires: Ref | None = None,
    ) -> bool:
        """Atomically mark a single-use artifact used: only if it exists, its `used` field
        is false and `requires` (an artifact of the same hash tag) still exists, replace it
        with `tombstone` and store `successor` (id, payload) of the same kind and group,
        both for `ttl` seconds. False if it was used already, is gone or lost `requires`."""
        _positive(ttl)
        spent = key(kind, ident, group)
        keys = [spent, requires.key if requires is not None else spent]
        args: list[Any] = [_dump(tombstone), "", ttl]
        if successor is not None:
            keys.append(key(kind, successor[0], group))
            args[1] = _dump(successor[1])
        return bool(self.run(_SPEND, keys, args))

    def guess(
        self, kind: str, ident: str, field: str, digest: str, limit: int
    ) -> tuple[dict[str, Any] | None, int | None]:
        """Compare `digest` with the artifact's `field` and count a wrong guess, atomically.

        (artifact, None) on a match; (None, tries) when wrong, the artifact destroyed once
        `tries` reaches `limit`; (None, None) when it is gone. An empty `digest` never
        matches: it spends a try on an answer that must cost one. The tries are kept
        beside the artifact (`idp:<kind>-tries:{<id>}`) and expire with it."""
        found = self.run(
            _GUESS, [key(kind, ident), key(f"{kind}-tries", ident)], [field, digest, limit, 3600]
        )
        if not found:
            return None, None
        if int(found[0]) == 1:
            return _load(found[1]), None
        return None, int(found[1])

    def decrement(self, kind: str, ident: str) -> None:
        """Give back one count of a counter (never below zero)."""
        self.run(_DECR_FLOOR, [key(kind, ident)], [])

    def consume(self, kind: str, ident: str, *, group: str | None = None) -> dict[str, Any] | None:
        """Return the artifact and delete it in one step: a second caller gets None."""
        with _redis_errors():
            return _load(self.client.getdel(key(kind, ident, group)))

    def destroy(self, kind: str, ident: str, *, group: str | None = None) -> bool:
        with _redis_errors():
            return bool(self.client.delete(key(kind, ident, group)))

    # Sets: an index from an owner to artifact ids (e.g. a person's sessions).
    def index_add(self, kind: str, owner: str, member: str, ttl: int) -> None:
        self.run(_SADD_EXTEND, [key(kind, owner)], [member, ttl])

    def index_members(self, kind: str, owner: str) -> list[str]:
        with _redis_errors():
            members = self.client.smembers(key(kind, owner))
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    def index_remove(self, kind: str, owner: str, *members: str) -> None:
        if members:
            with _redis_errors():
                self.client.srem(key(kind, owner), *members)

    # Counters: failures and rate limits.
    def incr(self, kind: str, ident: str, ttl: int) -> int:
        """Count one event; the window starts at the first event and lasts `ttl` seconds."""
        return int(self.run(_INCR_WITH_WINDOW, [key(kind, ident)], [ttl]))

    def reset(self, kind: str, ident: str) -> None:
        self.destroy(kind, ident)

    def ttl(self, kind: str, ident: str) -> int:
        with _redis_errors():
            return max(int(self.client.ttl(key(kind, ident))), 0)

    def ping(self) -> bool:
        with _redis_errors():
            return bool(self.client.ping())


def redis_client(url: str) -> redis.Redis | RedisCluster:
    timeouts: dict[str, Any] = {"socket_timeout": 2, "socket_connect_timeout": 2}
    if url.startswith(("redis+cluster://", "rediss+cluster://")):
        return RedisCluster.from_url(url.replace("+cluster", "", 1), **timeouts)
    return redis.Redis.from_url(url, health_check_interval=30, **timeouts)


def connect(url: str) -> ArtifactStore:
    return ArtifactStore(lambda: redis_client(url))
