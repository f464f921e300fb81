"""Token introspection (RFC 7662) and revocation (RFC 7009) over our token model.

Access tokens are JWTs checked against signature, expiry and their grant; refresh tokens
are looked up in Redis. Revoking a refresh token revokes its grant, and with it every
access token issued from it. `token_type_hint` only orders the search: any kind of token
is found whatever the hint says.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint as _Revocation
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _Introspection

from idp.audit import record_event
from idp.audit.events import Event
from idp.keys import InvalidTokenError
from idp.oidc.features import FEATURES
from idp.oidc.parameters import refuse_repeated_parameters

REVOKED = {
    "access_token": Event.access_token_revoked,
    "refresh_token": Event.refresh_token_revoked,
}
CLIENT_AUTH = list(FEATURES.client_auth_methods)


@dataclass
class FoundToken:
    kind: str  # access_token | refresh_token
    client_id: str
    claims: dict[str, Any]
    raw: str

    def check_client(self, client: Any) -> bool:
        return bool(self.client_id == client.client_id)

    def is_expired(self) -> bool:
        return bool(self.claims.get("exp", 0) <= time.time())

    def is_revoked(self) -> bool:
        return False  # find_token returns only live tokens


def find_token(raw: str, hint: str | None, server: Any) -> FoundToken | None:
    """The live token `raw` is, looked for as each kind in the hint's order (the server
    of idp/oidc/server.py holds the token issuer and the artifacts)."""
    kinds = (
        ["refresh_token", "access_token"]
        if hint == "refresh_token"
        else ["access_token", "refresh_token"]
    )
    for kind in kinds:
        if kind == "access_token" and raw.count(".") == 2:
            try:
                claims = server.tokens.validate_access_token(raw)
            except InvalidTokenError:
                continue
            return FoundToken(kind, claims["client_id"], claims, raw)
        if kind == "refresh_token" and "." not in raw:
            data, grant = server.artifacts.find_refresh_token(raw)
            if data and grant and not data.get("used"):
                claims = {
                    "scope": data["scope"],
                    "exp": grant["exp"],
                    "gid": data["grant_id"],
                    "person_id": grant["person_id"],
                    "iat": grant["created_at"],
                }
                return FoundToken(kind, data["client_id"], claims, raw)
    return None


class HintOnly:
    """RFC 7662 2.1, RFC 7009 2.1: a hint the server cannot use must not stop the search.
    Authlib refuses a hint it does not know with unsupported_token_type (and a 401, which
    means failed client authentication); here only a missing token is refused, and
    `find_token` looks through every kind. A parameter sent twice is refused first."""

    def create_endpoint_response(self, request: Any) -> Any:
        refuse_repeated_parameters(request)
        return super().create_endpoint_response(request)  # type: ignore[misc]

    def check_params(self, request: Any, client: Any) -> None:
        if "token" not in request.form:
            raise InvalidRequestError()


class IntrospectionEndpoint(HintOnly, _Introspection):
    CLIENT_AUTH_METHODS = CLIENT_AUTH

    def query_token(self, token_string: str, token_type_hint: str | None) -> FoundToken | None:
        return find_token(token_string, token_type_hint, self.server)

    def check_permission(self, token: FoundToken, client: Any, request: Any) -> bool:
        """RFC 7662 2.2 and 4: the token's own client may learn about it, and so may a
        confidential resource server the access token names as an audience; anyone else
        is told `active: false`, as for a token that does not exist. Refresh tokens are
        only ever their client's business."""
        if token.client_id == client.client_id:
            return True
        if token.kind != "access_token" or client.public:
            return False
        aud = token.claims.get("aud")
        if client.client_id not in (aud if isinstance(aud, list) else [aud]):
            return False
        # and still registered as one: taking a resource server off a client takes effect
        # at once, not when the tokens naming it expire
        owner = self.server.clients.get(token.client_id)
        return owner is not None and client.client_id in owner.resource_servers

    def introspect_token(self, token: FoundToken) -> dict[str, Any]:
        server = self.server
        c = token.claims
        body: dict[str, Any] = {
            "active": True,
            "client_id": token.client_id,
            "scope": c.get("scope", ""),
            "exp": c.get("exp"),
            "iat": c.get("iat"),
            "iss": server.issuer,
        }
        if token.kind == "access_token":
            body["token_type"] = "Bearer"  # RFC 7662: an RFC 6749 7.1 token type, if any
            body.update(
                {k: c[k] for k in ("sub", "aud", "jti", "auth_time", "acr", "amr") if k in c}
            )
        else:
            client = server.clients.get(token.client_id)
            if client is not None:
                body["sub"] = server.tokens.subject(c["person_id"], client)
        return body


class RevocationEndpoint(HintOnly, _Revocation):
    CLIENT_AUTH_METHODS = CLIENT_AUTH

    def query_token(self, token_string: str, token_type_hint: str | None) -> FoundToken | None:
        return find_token(token_string, token_type_hint, self.server)

    def revoke_token(self, token: FoundToken, request: Any) -> None:
        artifacts = self.server.artifacts
        self._end_kiosk_visit(token, request)
        if token.kind == "refresh_token":
            artifacts.revoke_grant(token.claims["gid"])
        else:
            artifacts.revoke_access_token(token.claims["jti"], token.claims["exp"])
        self.server.record(
            request,
            REVOKED[token.kind],
            actor=f"client:{token.client_id}",
            detail={"client_id": token.client_id},
        )

    def _end_kiosk_visit(self, token: FoundToken, request: Any) -> None:
        """A kiosk revoking its token says the person has left (RFC 7009 2.1 lets a
        revocation reach the grant): their session at the kiosk ends, with every grant
        made in it. Nothing else holds that session (no browser has its cookie)."""
        client = self.server.clients.get(token.client_id)
        grant = self.server.artifacts.grant(token.claims.get("gid"))
        if client is None or client.channel != "kiosk" or not grant or not grant.get("sid"):
            return
        ended = self.server.sessions.end(grant["sid"])
        revoked = self.server.artifacts.revoke_session_grants(grant["sid"], keep_offline=False)
        if ended is not None:
            record_event(
                request.db,
                Event.session_ended,
                person_id=ended.person_id,
                channel=ended.channel,
                session_id=ended.id,
                ip=request.remote_addr,
                user_agent=request.user_agent,
                detail={"reason": "kiosk_sign_out", "grants_revoked": revoked},
            )
