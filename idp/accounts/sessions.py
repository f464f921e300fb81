"""SSO sessions: one per browser or app install, held in Redis, ended by idle or age.

The cookie carries a random token; Redis keys the record by the token's SHA-256, so a
copy of Redis holds no usable cookie. That hash is the session's public id, shown in the
account centre and used to end it. Each record carries person, channel, auth_time, amr, acr.

Every change to a live session (its idle timer, a step-up) is one Lua script that reads,
checks and writes the record inside Redis: a session that another worker ended a moment
before is never written back, so "sign out everywhere" cannot be undone by a request that
was still in flight, and two changes at once cannot undo each other.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from idp.store import ArtifactStore, key

KIND = "session"
INDEX = "person-sessions"

# The expiry checks every change starts with (KEYS[1] the session; ARGV 1-3: now, idle
# timeout, absolute timeout). An expired session is deleted on the spot and returned as
# {0, record}; a live one is changed by the script's own lines, stored with its new TTL
# and returned as {1, record}; a missing one stays missing (false).
_CHANGE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local s = cjson.decode(raw)
local now, idle, absolute = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if type(s.idle) == 'number' and s.idle < idle then idle = s.idle end
if now - s.last_seen > idle or now - s.created_at > absolute then
  redis.call('DEL', KEYS[1])
  return {0, raw}
end
s.last_seen = now
%s
raw = cjson.encode(s)
redis.call('SET', KEYS[1], raw, 'EX', math.max(math.min(idle, s.created_at + absolute - now), 1))
return {1, raw}
"""
# resolve: the idle timer alone
_TOUCH = _CHANGE % ""
# add_method (ARGV 4-5: the method's amr, the level reached): the amr is added, `mfa` once
# two independent methods are in, and the acr is raised, never lowered. An acr's level
# is the number it ends with (urn:cn:gov:idp:loa:4 -> 4).
_RAISE = (
    _CHANGE
    % """
local seen, factors = {}, 0
for _, m in ipairs(s.amr) do seen[m] = true end
if not seen[ARGV[4]] then s.amr[#s.amr + 1] = ARGV[4]; seen[ARGV[4]] = true end
for m in pairs(seen) do if m ~= 'mfa' then factors = factors + 1 end end
if factors >= 2 and not seen['mfa'] then s.amr[#s.amr + 1] = 'mfa' end
local function level(acr) return tonumber(string.match(acr, '(%d+)$')) or 0 end
if level(ARGV[5]) > level(s.acr) then s.acr = ARGV[5] end
"""
)


@dataclass
class SsoSession:
    id: str
    person_id: str
    channel: str
    auth_time: int
    amr: list[str]
    acr: str
    created_at: int
    last_seen: int
    ip: str | None = None
    user_agent: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    device: str | None = None  # the app device that approved it, a kiosk's name
    idle: int | None = None  # this channel's idle timeout, when shorter (a kiosk's)


def session_id_for(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:48]


class SessionStore:
    def __init__(
        self,
        store: ArtifactStore,
        idle_timeout: int,
        absolute_timeout: int,
        channel_idle: dict[str, int] | None = None,
    ) -> None:
        self.store = store
        self.idle = idle_timeout
        self.absolute = absolute_timeout
        # channels whose sessions end sooner when left alone (a kiosk: the person left)
        self.channel_idle = {c: t for c, t in (channel_idle or {}).items() if t < idle_timeout}

    def _ttl(self, sso: SsoSession, now: int) -> int:
        return max(min(sso.idle or self.idle, sso.created_at + self.absolute - now), 1)

    def create(
        self,
        *,
        person_id: str,
        channel: str,
        amr: list[str],
        acr: str,
        ip: str | None,
        user_agent: str | None,
        device: str | None = None,
    ) -> tuple[str, SsoSession]:
        token = secrets.token_urlsafe(32)
        now = int(time.time())
        sso = SsoSession(
            id=session_id_for(token),
            person_id=person_id,
            channel=channel,
            auth_time=now,
            amr=amr,
            acr=acr,
            created_at=now,
            last_seen=now,
            ip=ip,
            user_agent=(user_agent or "")[:200] or None,
            device=(device or "")[:64] or None,
            idle=self.channel_idle.get(channel),
        )
        # Indexed first: a session that exists is always one "sign out everywhere" can find.
        self.store.index_add(INDEX, person_id, sso.id, self.absolute)
        self.store.upsert(KIND, sso.id, asdict(sso), self._ttl(sso, now))
        return token, sso

    def resolve(self, token: str) -> SsoSession | None:
        """The live session for a cookie token; refreshes its idle timer. An idle or too
        old session ends in the same step and gives None."""
        return self._change(_TOUCH, session_id_for(token))

    def add_method(self, session_id: str, method: str, acr: str) -> SsoSession | None:
        """A further authentication in this session (step-up): record the method (RFC 8176
        amr; `mfa` once two are used) and raise the level to `acr` unless it is higher
        already, in one step. None if the session has ended: it is never brought back."""
        return self._change(_RAISE, session_id, method, acr)

    def _change(self, script: str, session_id: str, *args: str) -> SsoSession | None:
        now = int(time.time())
        found = self.store.run(
            script, [key(KIND, session_id)], [now, self.idle, self.absolute, *args]
        )
        if not found:
            return None
        sso = _session(json.loads(found[1]))
        if int(found[0]) == 0:  # expired, and deleted by the script
            self.store.index_remove(INDEX, sso.person_id, sso.id)
            return None
        return sso

    def get(self, session_id: str) -> SsoSession | None:
        data = self.store.find(KIND, session_id)
        return _session(data) if data else None

    def list_for_person(self, person_id: str) -> list[SsoSession]:
        ids = self.store.index_members(INDEX, person_id)
        found = self.store.find_many(KIND, ids)
        gone = [i for i, d in zip(ids, found, strict=True) if d is None]
        self.store.index_remove(INDEX, person_id, *gone)
        live = [_session(d) for d in found if d is not None]
        return sorted(live, key=lambda s: s.last_seen, reverse=True)

    def end(self, session_id: str) -> SsoSession | None:
        data = self.store.consume(KIND, session_id)
        if data is None:
            return None
        sso = _session(data)
        self.store.index_remove(INDEX, sso.person_id, sso.id)
        return sso


def _session(data: dict[str, Any]) -> SsoSession:
    # Lua's cjson writes an empty list as {}: each field gets its type back.
    amr, extra = list(data.pop("amr") or []), dict(data.pop("extra", None) or {})
    return SsoSession(amr=amr, extra=extra, **data)
