"""Authorization code grant with OpenID Connect: codes in Redis, single use, bound to
client, redirect URI and PKCE challenge. A replayed code revokes everything it produced.

The code is saved at the authorization endpoint (idp/oidc/authorize.py, a Flask page) and
redeemed at the token endpoint (idp/oidc/machine): both reach the provider's parts
through `self.server` (idp/oidc/server.py), and the token endpoint's database session and
origin through its request."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oidc.core import OpenIDCode
from authlib.oidc.core.grants.util import is_openid_scope, validate_nonce

from idp.audit.events import Event
from idp.oidc.features import FEATURES
from idp.oidc.tokens import Authorization


@dataclass
class StoredCode:
    """The authorization code as Authlib's AuthorizationCodeMixin sees it."""

    code: str
    data: dict[str, Any]

    def get_redirect_uri(self) -> str:
        return str(self.data["redirect_uri"])

    def get_scope(self) -> str:
        return str(self.data["scope"])

    def get_nonce(self) -> str | None:
        return self.data.get("nonce")

    def get_auth_time(self) -> int:
        return int(self.data["auth_time"])

    def get_acr(self) -> str:
        return str(self.data["acr"])

    def get_amr(self) -> list[str]:
        return list(self.data["amr"])


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(FEATURES.client_auth_methods)

    def generate_authorization_code(self) -> str:
        # 256 bits from the OS in one call; Authlib draws 48 characters one at a time
        return secrets.token_urlsafe(32)

    def save_authorization_code(self, code: str, request: Any) -> None:
        signed_in = request.user  # a SignedInPerson from the authorize flow
        payload = request.payload.data
        self.server.artifacts.save_code(
            code,
            {
                "client_id": request.client.client_id,
                "redirect_uri": request.payload.redirect_uri,
                "scope": request.scope,
                "nonce": payload.get("nonce"),
                "code_challenge": payload.get("code_challenge"),
                "code_challenge_method": payload.get("code_challenge_method"),
                "person_id": signed_in.person_id,
                "sid": signed_in.sid,
                "auth_time": signed_in.auth_time,
                "acr": signed_in.acr,
                "amr": signed_in.amr,
                "claims": signed_in.claims,
                "act_for": signed_in.act_for,
            },
        )

    def query_authorization_code(self, code: str, client: Any) -> StoredCode | None:
        artifacts = self.server.artifacts
        data, replayed_grant = artifacts.redeem_code(code)
        if data is None:
            if replayed_grant and artifacts.revoke_grant(replayed_grant):
                self.server.record(
                    self.request,
                    Event.code_replayed,
                    actor=f"client:{client.client_id}",
                    detail={"client_id": client.client_id, "grant_revoked": True},
                )
            return None
        if data["client_id"] != client.client_id or data["exp"] <= time.time():
            return None
        return StoredCode(code, data)

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        pass  # redeem_code already consumed it

    def authenticate_user(self, authorization_code: StoredCode) -> Authorization | None:
        data = authorization_code.data
        person_id = data["person_id"]
        if not self.server.accounts.is_active(self.server.database.engine, person_id):
            return None
        artifacts = self.server.artifacts
        grant_id, grant_exp = artifacts.create_grant(
            {
                "person_id": person_id,
                "client_id": data["client_id"],
                "scope": data["scope"],
                "sid": data["sid"],
                "auth_time": data["auth_time"],
                "acr": data["acr"],
                "amr": data["amr"],
                "claims": data["claims"],
                "act_for": data.get("act_for"),
            }
        )
        artifacts.mark_code_used(authorization_code.code, grant_id)
        return Authorization(
            person_id=person_id,
            grant_id=grant_id,
            grant_exp=grant_exp,
            auth_time=data["auth_time"],
            acr=data["acr"],
            amr=data["amr"],
            sid=data["sid"],
            nonce=data["nonce"],
            claims=data["claims"] or {},
            act_for=data.get("act_for"),
        )


class OpenIDConnect(OpenIDCode):
    """Adds the ID token to the token response; nonce checks; prompts are the flow's job."""

    def __init__(self) -> None:
        super().__init__(require_nonce=False)

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False  # codes are single use; a nonce is echoed, never replayable here

    def validate_openid_authorization_request(self, grant: Any, redirect_uri: str) -> None:
        validate_nonce(grant.request, self.exists_nonce, self.require_nonce)

    def process_token(self, grant: Any, response: Any) -> Any:
        _, token, _ = response
        user = grant.request.user
        if isinstance(user, Authorization) and is_openid_scope(token.get("scope")):
            token["id_token"] = grant.server.tokens.id_token(
                grant.request.client, user, token, grant.request.db
            )
        return token

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.process_token)
        if is_openid_scope(grant.request.payload.scope):
            grant.register_hook(
                "after_validate_authorization_request_payload",
                self.validate_openid_authorization_request,
            )
