"""Refresh token grant: every use rotates the token; a reused token is treated as stolen
and revokes its whole family. The family also ends at the grant's absolute lifetime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import InvalidGrantError, grants

from idp.audit.events import Event
from idp.oidc.artifacts import RefreshTokenReusedError
from idp.oidc.features import FEATURES
from idp.oidc.tokens import Authorization


@dataclass
class StoredRefreshToken:
    token: str
    data: dict[str, Any]
    grant: dict[str, Any]

    def check_client(self, client: Any) -> bool:
        return bool(self.data["client_id"] == client.client_id)

    def get_scope(self) -> str:
        return str(self.data["scope"])


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(FEATURES.client_auth_methods)
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> StoredRefreshToken | None:
        data, grant = self.server.artifacts.find_refresh_token(refresh_token)
        if data is None:
            return None
        if data.get("used"):
            self._family_compromised(data)
            return None
        if grant is None:
            return None
        return StoredRefreshToken(refresh_token, data, grant)

    def authenticate_user(self, refresh_token: StoredRefreshToken) -> Authorization | None:
        grant = refresh_token.grant
        if not self.server.accounts.is_active(self.server.database.engine, grant["person_id"]):
            # RFC 6749 5.2: the grant is no longer valid (Authlib would say invalid_request)
            raise InvalidGrantError(description="the account behind this grant is not active")
        return Authorization(
            person_id=grant["person_id"],
            grant_id=refresh_token.data["grant_id"],
            grant_exp=grant["exp"],
            auth_time=grant["auth_time"],
            acr=grant["acr"],
            amr=grant["amr"],
            sid=grant.get("sid"),
            claims=grant.get("claims") or {},
            act_for=grant.get("act_for"),
        )

    def issue_token(self, user: Authorization, refresh_token: StoredRefreshToken) -> Any:
        scope = self.request.payload.scope or refresh_token.get_scope()
        # Rotate first, in one step with storing the successor: if two requests race with
        # one token, only one may win. The chain goes on only while offline_access does.
        try:
            successor = self.server.artifacts.rotate_refresh_token(
                refresh_token.token,
                refresh_token.data,
                refresh_token.grant,
                scope if "offline_access" in scope.split() else None,
            )
        except RefreshTokenReusedError:
            self._family_compromised(refresh_token.data)
            raise InvalidGrantError("The refresh token has already been used.") from None
        token = self.generate_token(user=user, scope=scope, include_refresh_token=False)
        if successor is not None:
            token["refresh_token"] = successor
        return token

    def revoke_old_credential(self, refresh_token: StoredRefreshToken) -> None:
        pass  # issue_token already marked it used

    def _family_compromised(self, data: dict[str, Any]) -> None:
        if self.server.artifacts.revoke_grant(data["grant_id"]):
            self.server.record(
                self.request,
                Event.refresh_token_reused,
                actor=f"client:{data['client_id']}",
                detail={"client_id": data["client_id"], "family_revoked": True},
            )
