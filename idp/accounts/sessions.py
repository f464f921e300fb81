"""SSO sessions: one per browser or app install, held in Redis, ended by idle or age.

The cookie carries a random token; Redis keys the record by the token's SHA-256, so a
copy of Redis holds no usable cookie. That hash is the session's public id, shown in the
account centre and used to end it. Each record carries person, channel, auth_time, amr, acr.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass, field

from idp.store import ArtifactStore

KIND = "session"
INDEX = "person-sessions"


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


def session_id_for(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:48]


class SessionStore:
    def __init__(self, store: ArtifactStore, idle_timeout: int, absolute_timeout: int) -> None:
        self.store = store
        self.idle = idle_timeout
        self.absolute = absolute_timeout

    def _ttl(self, sso: SsoSession, now: int) -> int:
        return max(min(self.idle, sso.created_at + self.absolute - now), 1)

    def create(
        self,
        *,
        person_id: str,
        channel: str,
        amr: list[str],
        acr: str,
        ip: str | None,
        user_agent: str | None,
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
        )
        self.store.upsert(KIND, sso.id, asdict(sso), self._ttl(sso, now))
        self.store.index_add(INDEX, person_id, sso.id, self.absolute)
        return token, sso

    def resolve(self, token: str) -> SsoSession | None:
        """The live session for a cookie token; refreshes its idle timer."""
        data = self.store.find(KIND, session_id_for(token))
        if data is None:
            return None
        sso = SsoSession(**data)
        now = int(time.time())
        if now - sso.last_seen > self.idle or now - sso.created_at > self.absolute:
            self.end(sso.id)
            return None
        sso.last_seen = now
        self.store.upsert(KIND, sso.id, asdict(sso), self._ttl(sso, now))
        return sso

    def add_method(self, session_id: str, method: str, acr: str) -> SsoSession | None:
        """A further authentication in this session (step-up): record the method (RFC 8176
        amr; `mfa` once two are used) and the level now reached."""
        sso = self.get(session_id)
        if sso is None:
            return None
        if method not in sso.amr:
            sso.amr = [*sso.amr, method]
        if len(set(sso.amr) - {"mfa"}) >= 2 and "mfa" not in sso.amr:
            sso.amr.append("mfa")
        sso.acr = acr
        now = int(time.time())
        self.store.upsert(KIND, sso.id, asdict(sso), self._ttl(sso, now))
        return sso

    def get(self, session_id: str) -> SsoSession | None:
        data = self.store.find(KIND, session_id)
        return SsoSession(**data) if data else None

    def list_for_person(self, person_id: str) -> list[SsoSession]:
        ids = self.store.index_members(INDEX, person_id)
        found = self.store.find_many(KIND, ids)
        gone = [i for i, d in zip(ids, found, strict=True) if d is None]
        self.store.index_remove(INDEX, person_id, *gone)
        live = [SsoSession(**d) for d in found if d is not None]
        return sorted(live, key=lambda s: s.last_seen, reverse=True)

    def end(self, session_id: str) -> SsoSession | None:
        data = self.store.consume(KIND, session_id)
        if data is None:
            return None
        sso = SsoSession(**data)
        self.store.index_remove(INDEX, sso.person_id, sso.id)
        return sso
