"""The OpenID provider: Authlib's authorization server with our grants, storage and tokens.

`init_app` builds it once per app. Protocol errors leave here in OAuth's JSON format; the
authorization endpoint's person-facing side lives in `idp/flows/authorize.py`.
"""

from __future__ import annotations

from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2.rfc6749 import OAuth2Error, OAuth2Request
from flask import Flask, Response, json
from flask import request as flask_request

from config import Settings
from idp.accounts.services import Accounts
from idp.keys import KeyRing
from idp.oidc.artifacts import Artifacts
from idp.oidc.client_auth import PrivateKeyJwt, client_secret_basic
from idp.oidc.clients import ClientRegistry
from idp.oidc.grants.authorization_code import AuthorizationCodeGrant, OpenIDConnect
from idp.oidc.grants.client_credentials import ClientCredentialsGrant
from idp.oidc.grants.pkce import S256CodeChallenge
from idp.oidc.grants.refresh_token import RefreshTokenGrant
from idp.oidc.introspection import IntrospectionEndpoint, RevocationEndpoint
from idp.oidc.models import Client
from idp.oidc.parameters import refuse_repeated_parameters, refuse_unquotable_parameters
from idp.oidc.runtime import Oidc
from idp.oidc.tokens import TokenIssuer
from idp.store import ArtifactStore

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OidcServer(AuthorizationServer):
    def __init__(self, clients: ClientRegistry, issuer: str) -> None:
        super().__init__()
        self.clients = clients
        self.issuer = issuer

    def query_client(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        pass  # tokens are self-contained JWTs; refresh tokens are stored when issued

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return FlaskOAuth2Request(flask_request)

    def get_consent_grant(self, request: Any = None, end_user: Any = None) -> Any:
        """Authlib's, after refusing a parameter it would quote in an error it cannot
        build (idp/oidc/parameters.py)."""
        request = self.create_oauth2_request(request)
        refuse_unquotable_parameters(request)
        return super().get_consent_grant(request, end_user)

    def create_token_response(self, request: Any = None) -> Response:
        """Authlib's, after refusing a repeated parameter (idp/oidc/fast_paths.py does the
        same before its grants)."""
        request = self.create_oauth2_request(request)
        try:
            refuse_repeated_parameters(request)
        except OAuth2Error as error:
            response: Response = self.handle_error_response(request, error)
            return response
        token_response: Response = super().create_token_response(request)
        return token_response

    def handle_response(self, status_code: int, payload: Any, headers: Any) -> Response:
        body = json.dumps(payload) if isinstance(payload, dict) else payload
        response = Response(body, status=status_code, headers=headers)
        if isinstance(payload, dict):
            response.headers.update(NO_STORE)
        return response

    def with_issuer(self, location: str) -> str:
        """RFC 9207: every authorization response names its issuer."""
        return add_params_to_uri(location, {"iss": self.issuer})


def init_app(
    app: Flask, settings: Settings, *, keys: KeyRing, store: ArtifactStore, accounts: Accounts
) -> Oidc:
    artifacts = Artifacts(
        store,
        code_ttl=settings.authorization_code_ttl,
        refresh_ttl=settings.refresh_token_ttl,
        access_ttl=settings.access_token_ttl,
    )
    clients = ClientRegistry(app.extensions["idp.db"].factory)
    tokens = TokenIssuer(
        keys=keys,
        artifacts=artifacts,
        accounts=accounts,
        issuer=settings.issuer,
        subject_salt=settings.subject_salt,
        access_ttl=settings.access_token_ttl,
        id_ttl=settings.id_token_ttl,
    )
    server = OidcServer(clients, settings.issuer)
    server.register_token_generator("default", tokens)
    server.register_client_auth_method("client_secret_basic", client_secret_basic)
    server.register_client_auth_method(
        "private_key_jwt", PrivateKeyJwt(settings.issuer, f"{settings.issuer}/token", store)
    )
    server.register_grant(
        AuthorizationCodeGrant, [S256CodeChallenge(required=True), OpenIDConnect()]
    )
    server.register_grant(RefreshTokenGrant, [OpenIDConnect()])
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(IntrospectionEndpoint)
    server.register_endpoint(RevocationEndpoint)
    runtime = Oidc(
        server=server, tokens=tokens, artifacts=artifacts, clients=clients, issuer=settings.issuer
    )
    app.extensions["idp.oidc"] = runtime
    return runtime
