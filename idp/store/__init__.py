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
from redis.commands.core import Script

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
_DECR_FLOOR = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""
_SADD_EXTEND = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""
# An artifact and the one its field names (KEYS[1], ARGV[1] = field, ARGV[2] = key prefix).
# The second key is known only inside Redis: fine on one Redis, not on a cluster.
_FIND_LINKED = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local id = cjson.decode(raw)[ARGV[1]]
if type(id) ~= 'string' then return {raw, false} end
return {raw, redis.call('GET', ARGV[2] .. id)}
"""
# Spend a single-use artifact (KEYS[1]): only if it is there with `used` false, replace it
# with ARGV[1] (its tombstone) and store ARGV[2] under KEYS[2] (its successor), if given.
_SPEND = """
local raw = redis.call('GET', KEYS[1])
if not raw or cjson.decode(raw)['used'] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
if KEYS[2] then redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3]) end
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


# Count one attempt unless blocked (KEYS: lock, attempts, address attempts or nothing;
# ARGV: limit, lock seconds, attempts memory, address limit, address window). The attempt
# that reaches the limit sets the lock itself, before it is even judged: of many sent at
# once, no more than the limit get through, and after a lock only one at a time.
_ATTEMPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {1, redis.call('TTL', KEYS[1])} end
if KEYS[3] and tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[4]) then
  return {2, redis.call('TTL', KEYS[3])}
end
local n = redis.call('INCR', KEYS[2])
if redis.call('TTL', KEYS[2]) < 0 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
if KEYS[3] then
  redis.call('INCR', KEYS[3])
  if redis.call('TTL', KEYS[3]) < 0 then redis.call('EXPIRE', KEYS[3], ARGV[5]) end
end
if n >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], cjson.encode({failures = n}), 'EX', ARGV[2])
end
return {0, n}
"""


def _dump(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


def _load(raw: bytes | str | None) -> dict[str, Any] | None:
    return json.loads(raw) if raw is not None else None


class ArtifactStore:
    """Connects on first use, so building an app (e.g. for a CLI command) starts nothing."""

    def __init__(self, connect: Callable[[], redis.Redis]) -> None:
        self._connect = connect
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()
        self._scripts: dict[str, Script] = {}

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            with self._lock, _redis_errors():
                if self._client is None:
                    self._client = self._connect()
        return self._client

    def _run(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """Run a Lua script atomically; EVALSHA, loading it on first use."""
        with _redis_errors():
            script = self._scripts.get(source)
            if script is None:
                script = self._scripts[source] = self.client.register_script(source)
            return script(keys=keys, args=args)

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

    def find_each(self, *refs: tuple[str, str]) -> list[dict[str, Any] | None]:
        """Artifacts of any kinds, given as (kind, id), in one round trip."""
        with _redis_errors():
            raws = self.client.mget([_key(kind, ident) for kind, ident in refs])
        return [_load(r) for r in raws]

    def find_and_count(
        self, kind: str, ident: str, counter_kind: str, counter_ident: str
    ) -> tuple[dict[str, Any] | None, int]:
        """An artifact and a counter (a lock and a failure count), in one round trip."""
        with _redis_errors():
            raw, counted = self.client.mget([_key(kind, ident), _key(counter_kind, counter_ident)])
        return _load(raw), int(counted) if counted is not None else 0

    def find_linked(
        self, kind: str, ident: str, field: str, linked_kind: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """An artifact and the `linked_kind` artifact its `field` names, in one round trip
        (e.g. a refresh token and its grant): (None, None), (artifact, None) or both."""
        found = self._run(_FIND_LINKED, [_key(kind, ident)], [field, _key(linked_kind, "")])
        if not found:
            return None, None
        return _load(found[0]), _load(found[1])

    def spend(
        self,
        kind: str,
        ident: str,
        tombstone: dict[str, Any],
        ttl: int,
        successor: tuple[str, dict[str, Any]] | None = None,
    ) -> bool:
        """Atomically mark a single-use artifact used: only if it exists and its `used`
        field is false, replace it with `tombstone` and store `successor` (id, payload) of
        the same kind, both for `ttl` seconds. False if it was used already or is gone."""
        if ttl <= 0:
            raise ValueError("every artifact needs a positive TTL")
        keys, args = [_key(kind, ident)], [_dump(tombstone), "", ttl]
        if successor is not None:
            keys.append(_key(kind, successor[0]))
            args[1] = _dump(successor[1])
        return bool(self._run(_SPEND, keys, args))

    def guess(
        self, kind: str, ident: str, field: str, digest: str, limit: int
    ) -> tuple[dict[str, Any] | None, int | None]:
        """Compare `digest` with the artifact's `field` and count a wrong guess, atomically.

        (artifact, None) on a match; (None, tries) when wrong, the artifact destroyed once
        `tries` reaches `limit`; (None, None) when it is gone. An empty `digest` never
        matches: it spends a try on an answer that must cost one. The tries are kept
        beside the artifact (`idp:<kind>-tries:<id>`) and expire with it."""
        found = self._run(
            _GUESS, [_key(kind, ident), _key(f"{kind}-tries", ident)], [field, digest, limit, 3600]
        )
        if not found:
            return None, None
        if int(found[0]) == 1:
            return _load(found[1]), None
        return None, int(found[1])

    def take_attempt(
        self,
        lock: tuple[str, str],
        attempts: tuple[str, str],
        address_attempts: tuple[str, str] | None,
        *,
        limit: int,
        lock_ttl: int,
        memory: int,
        address_limit: int,
        address_window: int,
    ) -> tuple[str, int]:
        """Count an attempt against `attempts` (and `address_attempts`), atomically, unless
        `lock` exists or the address has used up `address_limit`. Returns ("ok", number
        of this attempt), ("locked", seconds left) or ("address", seconds left). The
        attempt numbered `limit` or more sets `lock` for `lock_ttl` seconds as it goes."""
        keys = [_key(*lock), _key(*attempts)]
        if address_attempts is not None:
            keys.append(_key(*address_attempts))
        found = self._run(_ATTEMPT, keys, [limit, lock_ttl, memory, address_limit, address_window])
        verdict, number = int(found[0]), max(int(found[1]), 0)
        return ("ok", "locked", "address")[verdict], number

    def decrement(self, kind: str, ident: str) -> None:
        """Give back one count of a counter (never below zero)."""
        self._run(_DECR_FLOOR, [_key(kind, ident)], [])

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
        self._run(_SADD_EXTEND, [_key(kind, owner)], [member, ttl])

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
        return int(self._run(_INCR_WITH_WINDOW, [_key(kind, ident)], [ttl]))

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
