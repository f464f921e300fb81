"""Short-lived protocol artifacts in Redis: codes, grants, refresh tokens, revocations.

A *grant* is one person's authorisation of one client, born when a code is redeemed.
Every refresh token and access token carries its grant id; destroying the grant revokes
the whole family at once (code reuse, refresh-token reuse, revocation, logout).
Secrets (codes, refresh tokens) are stored under their SHA-256, never in the clear.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from idp.store import ArtifactStore


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


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
        """Consume a code once. Returns (data, None), or (None, grant id) for a reused code."""
        key = digest(code)
        data = self.store.consume("code", key)
        if data is None:
            used = self.store.find("code-used", key)
            return None, (used or {}).get("grant_id")
        return data, None

    def mark_code_used(self, code: str, grant_id: str) -> None:
        # Remembered well past the code's life: a late replay still revokes the grant.
        self.store.upsert(
            "code-used",
            digest(code),
            {"grant_id": grant_id},
            max(self.code_ttl * 10, self.access_ttl),
        )

    # -- grants ----------------------------------------------------------------------------
    def create_grant(self, data: dict[str, Any]) -> tuple[str, int]:
        """Store a new grant; returns its id and when it ends (epoch seconds)."""
        grant_id = secrets.token_urlsafe(18)
        now = int(time.time())
        record = {**data, "created_at": now, "exp": now + self.refresh_ttl}
        self.store.upsert("grant", grant_id, record, self.refresh_ttl)
        if data.get("sid"):
            self.store.index_add("session-grants", data["sid"], grant_id, self.refresh_ttl)
        self.store.index_add("person-grants", data["person_id"], grant_id, self.refresh_ttl)
        return grant_id, record["exp"]

    def grant(self, grant_id: str | None) -> dict[str, Any] | None:
        return self.store.find("grant", grant_id) if grant_id else None

    def revoke_grant(self, grant_id: str | None) -> bool:
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
        token = secrets.token_urlsafe(32)
        self.store.upsert(
            "refresh", digest(token), _refresh_record(grant_id, client_id, scope), remaining
        )
        return token

    def find_refresh_token(self, token: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """A refresh token's record and its grant (None once revoked), in one round trip."""
        return self.store.find_linked("refresh", digest(token), "grant_id", "grant")

    def rotate_refresh_token(
        self, token: str, data: dict[str, Any], grant: dict[str, Any], scope: str | None
    ) -> str | None:
        """Mark a refresh token used and, if `scope` is given, issue its successor for that
        scope, in one atomic step: of two requests racing with one token, only one wins.
        Returns the successor (None without `scope`). Raises RefreshTokenReusedError if
        the token was used already or is gone: the caller must then treat it as stolen
        and revoke the grant. The tombstone lives as long as the grant, for late replays."""
        ttl = max(grant["exp"] - int(time.time()), 1)
        successor = secrets.token_urlsafe(32) if scope is not None else None
        new = None
        if successor is not None and scope is not None:
            new = (digest(successor), _refresh_record(data["grant_id"], data["client_id"], scope))
        spent = self.store.spend("refresh", digest(token), {**data, "used": True}, ttl, new)
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


def _refresh_record(grant_id: str, client_id: str, scope: str) -> dict[str, Any]:
    return {"grant_id": grant_id, "client_id": client_id, "scope": scope, "used": False}
