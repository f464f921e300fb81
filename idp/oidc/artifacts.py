"""Short-lived protocol artifacts in Redis: codes, grants, refresh tokens, revocations.

A *grant* is one person's authorisation of one client, born when a code is redeemed.
Every refresh token and access token carries its grant id; destroying the grant revokes
the whole family at once (code reuse, refresh-token reuse, revocation, logout).
Secrets (codes, refresh tokens) are stored under their SHA-256, never in the clear.

A refresh token begins with its grant's id, so that the token and its grant are found, and
spent, by keys of one Redis Cluster hash tag (the grant id) in one step. A change that
depends on another artifact checks it in the same step: a refresh token is spent only
while its grant lives, a grant joins its SSO session only while the session lives, and a
code's replay is remembered on the code itself, so whichever of two redemptions comes
second still revokes what the first produced.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

from idp.accounts.sessions import KIND as SESSION_KIND
from idp.store import ArtifactStore, Ref, key

GRANT_ID_CHARS = 24  # secrets.token_urlsafe(18)

# Redeem a code (KEYS[1]): the first redemption turns it into a tombstone {used} kept for
# ARGV[1] seconds and gets the code ({1, code}); any later one marks the tombstone
# `replayed` and gets {0, the grant id the first one recorded, or ''}.
_REDEEM = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local code = cjson.decode(raw)
if code.used then
  code.replayed = true
  redis.call('SET', KEYS[1], cjson.encode(code), 'KEEPTTL')
  return {0, code.grant_id or ''}
end
redis.call('SET', KEYS[1], cjson.encode({used = true}), 'EX', ARGV[1])
return {1, raw}
"""
# Record on a redeemed code's tombstone (KEYS[1]) the grant it produced (ARGV[1]); 1 if a
# replay came in meanwhile, and the grant must die. ARGV[2]: the TTL of a tombstone that
# is somehow gone.
_RECORD_GRANT = """
local raw = redis.call('GET', KEYS[1])
local code = raw and cjson.decode(raw) or {used = true}
code.grant_id = ARGV[1]
if raw then redis.call('SET', KEYS[1], cjson.encode(code), 'KEEPTTL')
else redis.call('SET', KEYS[1], cjson.encode(code), 'EX', ARGV[2]) end
if code.replayed then return 1 end
return 0
"""
# Index a grant (ARGV[1]) under its SSO session (KEYS[2]) only while the session (KEYS[1])
# lives, keeping the index ARGV[2] seconds at least; 0 if the session has ended.
_JOIN_SESSION = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return 1
"""


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _refresh_ref(token: str) -> Ref | None:
    """Where a refresh token is kept: under its digest, in its grant's group."""
    if len(token) <= GRANT_ID_CHARS:
        return None
    return Ref("refresh", digest(token), token[:GRANT_ID_CHARS])


class Artifacts:
    def __init__(
        self, store: ArtifactStore, *, code_ttl: int, refresh_ttl: int, access_ttl: int
    ) -> None:
        self.store = store
        self.code_ttl = code_ttl
        self.refresh_ttl = refresh_ttl
        self.access_ttl = access_ttl

    # -- authorization codes ---------------------------------------------------------------
    def save_code(self, code: str, data: dict[str, Any]) -> None:
        data = {**data, "exp": int(time.time()) + self.code_ttl}
        self.store.upsert("code", digest(code), data, self.code_ttl)

    def redeem_code(self, code: str) -> tuple[dict[str, Any] | None, str | None]:
        """Redeem a code once. Returns (data, None), or (None, grant id or None) for a code
        redeemed before; the replay is remembered, so that `mark_code_used` can revoke a
        grant that was still being made when it came."""
        found = self.store.run(_REDEEM, [key("code", digest(code))], [self._code_memory])
        if not found:
            return None, None
        if int(found[0]) == 1:
            return json.loads(found[1]), None
        return None, (found[1].decode() if isinstance(found[1], bytes) else found[1]) or None

    def mark_code_used(self, code: str, grant_id: str) -> bool:
        """Record the grant a code produced, so that a late replay revokes it. True (and the
        grant revoked) if the code was replayed while the grant was being made."""
        replayed = self.store.run(
            _RECORD_GRANT, [key("code", digest(code))], [grant_id, self._code_memory]
        )
        return bool(replayed) and self.revoke_grant(grant_id)

    @property
    def _code_memory(self) -> int:
        # Remembered well past the code's life: a late replay still revokes the grant.
        return max(self.code_ttl * 10, self.access_ttl)

    # -- grants ----------------------------------------------------------------------------
    def create_grant(self, data: dict[str, Any]) -> tuple[str, int]:
        """Store a new grant; returns its id and when it ends (epoch seconds).

        A grant of an SSO session (`sid`) that has ended meanwhile (signed out between the
        code and its redemption) is born revoked: its id is returned, but the tokens
        issued under it find no grant, as if the sign-out had come a moment later."""
        grant_id = secrets.token_urlsafe(18)
        now = int(time.time())
        record = {**data, "created_at": now, "exp": now + self.refresh_ttl}
        self.store.upsert("grant", grant_id, record, self.refresh_ttl)
        sid = data.get("sid")
        if sid and not self.store.run(
            _JOIN_SESSION,
            [key(SESSION_KIND, sid), key("session-grants", sid)],
            [grant_id, self.refresh_ttl],
        ):
            self.revoke_grant(grant_id)
            return grant_id, record["exp"]
        self.store.index_add("person-grants", data["person_id"], grant_id, self.refresh_ttl)
        return grant_id, record["exp"]

    def grant(self, grant_id: str | None) -> dict[str, Any] | None:
        return self.store.find("grant", grant_id) if grant_id else None

    def revoke_grant(self, grant_id: str | None) -> bool:
        """End a grant: its refresh and access tokens stop working with it."""
        return bool(grant_id) and self.store.destroy("grant", grant_id or "")

    def session_grants(self, sid: str) -> list[dict[str, Any]]:
        """The live grants of an SSO session, offline_access ones included."""
        ids = self.store.index_members("session-grants", sid)
        return [data for data in self.store.find_many("grant", ids) if data]

    def revoke_session_grants(self, sid: str, keep_offline: bool = True) -> int:
        """At sign-out: end the grants of that session, except offline_access ones."""
        ids = self.store.index_members("session-grants", sid)
        revoked = 0
        for grant_id, data in zip(ids, self.store.find_many("grant", ids), strict=True):
            if data and not (keep_offline and "offline_access" in data["scope"].split()):
                revoked += self.revoke_grant(grant_id)
        return revoked

    def revoke_person_grants(self, person_id: str, keep_sid: str | None = None) -> int:
        """Every grant of the person, offline_access ones included, except those of SSO
        session `keep_sid` (a password change: only the session that made it lives on)."""
        ids = self.store.index_members("person-grants", person_id)
        revoked = 0
        for grant_id, data in zip(ids, self.store.find_many("grant", ids), strict=True):
            if data and (keep_sid is None or data.get("sid") != keep_sid):
                revoked += self.revoke_grant(grant_id)
        return revoked

    def revoke_person_client_grants(self, person_id: str, client_id: str) -> int:
        ids = self.store.index_members("person-grants", person_id)
        revoked = 0
        for grant_id, data in zip(ids, self.store.find_many("grant", ids), strict=True):
            if data and data["client_id"] == client_id:
                revoked += self.revoke_grant(grant_id)
        return revoked

    # -- refresh tokens --------------------------------------------------------------------
    def issue_refresh_token(self, grant_id: str, client_id: str, scope: str, grant_exp: int) -> str:
        """A new refresh token of a grant that ends at `grant_exp` (epoch seconds)."""
        remaining = grant_exp - int(time.time())
        if remaining <= 0:
            raise LookupError("grant expired")
        token = _new_refresh_token(grant_id)
        self.store.upsert(
            "refresh",
            digest(token),
            _refresh_record(grant_id, client_id, scope),
            remaining,
            group=grant_id,
        )
        return token

    def find_refresh_token(self, token: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """A refresh token's record and its grant (None once revoked), in one round trip."""
        ref = _refresh_ref(token)
        if ref is None:
            return None, None
        data, grant = self.store.find_each(ref, Ref("grant", ref.group or ""))
        if data is None or data.get("grant_id") != ref.group:
            return None, None
        return data, grant

    def rotate_refresh_token(
        self, token: str, data: dict[str, Any], grant: dict[str, Any], scope: str | None
    ) -> str | None:
        """Mark a refresh token used and, if `scope` is given, issue its successor for that
        scope, in one atomic step that also checks that the grant still lives: of two
        requests racing with one token, only one wins, and a grant revoked meanwhile gets
        no successor. Returns the successor (None without `scope`). Raises
        RefreshTokenReusedError if the token was used already or is gone, or its grant is:
        the caller must then treat it as stolen and revoke the grant. The tombstone lives
        as long as the grant, for late replays."""
        grant_id = data["grant_id"]
        ttl = max(grant["exp"] - int(time.time()), 1)
        successor = _new_refresh_token(grant_id) if scope is not None else None
        new = None
        if successor is not None and scope is not None:
            new = (digest(successor), _refresh_record(grant_id, data["client_id"], scope))
        spent = self.store.spend(
            "refresh",
            digest(token),
            {**data, "used": True},
            ttl,
            new,
            group=grant_id,
            requires=Ref("grant", grant_id),
        )
        if not spent:
            raise RefreshTokenReusedError()
        return successor

    # -- access-token revocation -----------------------------------------------------------
    def revoke_access_token(self, jti: str, exp: int) -> None:
        ttl = exp - int(time.time())
        if ttl > 0:
            self.store.upsert("revoked-jti", jti, {"exp": exp}, ttl)

    def access_token_state(
        self, jti: str, grant_id: str | None
    ) -> tuple[bool, dict[str, Any] | None]:
        """(revoked?, its grant or None) for an access token, in one round trip."""
        if not grant_id:
            return self.store.find("revoked-jti", jti) is not None, None
        revoked, grant = self.store.find_each(("revoked-jti", jti), ("grant", grant_id))
        return revoked is not None, grant


class RefreshTokenReusedError(Exception):
    """A refresh token was presented again after it was used: its family is compromised."""


def _new_refresh_token(grant_id: str) -> str:
    if len(grant_id) != GRANT_ID_CHARS:
        raise ValueError("not a grant id")
    return grant_id + secrets.token_urlsafe(32)


def _refresh_record(grant_id: str, client_id: str, scope: str) -> dict[str, Any]:
    return {"grant_id": grant_id, "client_id": client_id, "scope": scope, "used": False}
