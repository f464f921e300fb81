"""The authorization server: Authlib's, framework-free, holding every part its grants and
endpoints need. They reach those parts through the `server` Authlib hands them
(`self.server.artifacts`, `.tokens`, `.accounts`, ...), never through Flask globals, so
the same grants serve the machine-to-machine pipeline (idp/oidc/machine) and the
authorization endpoint's Flask side (idp/oidc/authorize.py).

`register_features` registers what idp/oidc/features.py turns on, and refuses a feature
that is on but has no implementation yet.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.endpoint import Endpoint
from werkzeug.wrappers import Response

from idp.accounts.services import Accounts
from idp.accounts.sessions import SessionStore
from idp.audit import record_event
from idp.audit.events import Event
from idp.db import Database
from idp.oidc.artifacts import Artifacts
from idp.oidc.ciba import BackchannelAuthenticationEndpoint
from idp.oidc.client_auth import PrivateKeyJwt, client_secret_basic
from idp.oidc.clients import ClientRegistry
from idp.oidc.device import DeviceAuthorizationEndpoint
from idp.oidc.features import (
    CIBA_GRANT,
    DEVICE_CODE_GRANT,
    JWT_BEARER_GRANT,
    TOKEN_PATH,
    Features,
)
from idp.oidc.grants.authorization_code import AuthorizationCodeGrant, OpenIDConnect
from idp.oidc.grants.ciba import CibaGrant
from idp.oidc.grants.client_credentials import ClientCredentialsGrant
from idp.oidc.grants.device_code import DeviceCodeGrant
from idp.oidc.grants.jwt_bearer import JWTBearerGrant, KioskDesk
from idp.oidc.grants.pkce import S256CodeChallenge
from idp.oidc.grants.refresh_token import RefreshTokenGrant
from idp.oidc.introspection import IntrospectionEndpoint, RevocationEndpoint
from idp.oidc.models import Client
from idp.oidc.parameters import refuse_unquotable_parameters
from idp.oidc.tokens import TokenIssuer
from idp.store import ArtifactStore

if TYPE_CHECKING:
    from idp.oidc.machine.requests import MachineRequest

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# Each grant type and endpoint a feature may turn on, with what implements it. A feature
# on without an entry here stops the start.
GRANTS: dict[str, tuple[type, Callable[[], list[Any]]]] = {
    "authorization_code": (
        AuthorizationCodeGrant,
        lambda: [S256CodeChallenge(required=True), OpenIDConnect()],
    ),
    "refresh_token": (RefreshTokenGrant, lambda: [OpenIDConnect()]),
    "client_credentials": (ClientCredentialsGrant, list),
    CIBA_GRANT: (CibaGrant, lambda: [OpenIDConnect()]),
    DEVICE_CODE_GRANT: (DeviceCodeGrant, lambda: [OpenIDConnect()]),
    JWT_BEARER_GRANT: (JWTBearerGrant, lambda: [OpenIDConnect()]),
}
ENDPOINTS: dict[str, type[Endpoint]] = {
    "introspection": IntrospectionEndpoint,
    "revocation": RevocationEndpoint,
    "backchannel_authentication": BackchannelAuthenticationEndpoint,
    "device_authorization": DeviceAuthorizationEndpoint,
}


class FeatureUnavailableError(RuntimeError):
    """A feature is turned on that this provider cannot serve yet."""


class OidcServer(AuthorizationServer):
    def __init__(
        self,
        *,
        clients: ClientRegistry,
        artifacts: Artifacts,
        tokens: TokenIssuer,
        accounts: Accounts,
        database: Database,
        issuer: str,
        features: Features,
        sessions: SessionStore | None = None,
    ) -> None:
        super().__init__()
        self.clients = clients
        self.artifacts = artifacts
        self.tokens = tokens
        self.accounts = accounts
        self.database = database
        self.issuer = issuer
        self.features = features
        # the SSO sessions a grant opens when a person signed in elsewhere (an app
        # approval, a kiosk's card): the device, CIBA and JWT bearer grants
        self.sessions = sessions
        # the kiosk channel's rules for the JWT bearer grant (idp/channels/kiosk.py)
        self.kiosk: KioskDesk | None = None

    # -- Authlib's hooks -------------------------------------------------------------------
    def query_client(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        pass  # tokens are self-contained JWTs; refresh tokens are stored when issued

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass  # nothing listens to Authlib's signals

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        """Callers build their OAuth2Request themselves (the pipeline, authorize.py)."""
        if not isinstance(request, OAuth2Request):
            raise TypeError(f"an OAuth2Request is needed, not {type(request).__name__}")
        return request

    def handle_response(self, status_code: int, payload: Any, headers: Any) -> Response:
        """The authorization endpoint's answer (a redirect, read by idp/oidc/authorize.py);
        the pipeline encodes its own answers (idp/oidc/machine/responses.py)."""
        body = json.dumps(payload) if isinstance(payload, dict) else payload
        return Response(body, status_code, headers)

    def get_consent_grant(self, request: Any = None, end_user: Any = None) -> Any:
        """Authlib's, after refusing a parameter it would quote in an error it cannot
        build (idp/oidc/parameters.py)."""
        request = self.create_oauth2_request(request)
        refuse_unquotable_parameters(request)
        return super().get_consent_grant(request, end_user)

    # -- ours ------------------------------------------------------------------------------
    def endpoint(self, name: str) -> Endpoint:
        """The registered endpoint called `name` (Authlib's ENDPOINT_NAME)."""
        found: Endpoint = self._endpoints[name][0]
        return found

    def with_issuer(self, location: str) -> str:
        """RFC 9207: every authorization response names its issuer."""
        return add_params_to_uri(location, {"iss": self.issuer})

    def record(
        self, request: MachineRequest, event: Event, *, actor: str, detail: dict[str, Any]
    ) -> None:
        """An audit row for what a client's request did, with where it came from,
        committed in the request's own database session."""
        record_event(
            request.db,
            event,
            actor=actor,
            detail=detail,
            ip=request.remote_addr,
            user_agent=request.user_agent,
        )
        request.db.commit()


def register_features(server: OidcServer, features: Features, store: ArtifactStore) -> None:
    """Register on `server` every grant, endpoint and client authentication method that
    `features` turns on (Authlib knows client_secret_post and none by itself)."""
    for grant_type in features.grant_types:
        if grant_type not in GRANTS:
            raise FeatureUnavailableError(f"grant type {grant_type} is not implemented yet")
        grant, extensions = GRANTS[grant_type]
        server.register_grant(grant, extensions())
    for endpoint in features.endpoints:
        if endpoint.name not in ENDPOINTS:
            raise FeatureUnavailableError(f"the {endpoint.name} endpoint is not implemented yet")
        server.register_endpoint(ENDPOINTS[endpoint.name])
    server.register_token_generator("default", server.tokens)
    if features.client_secret_basic:
        server.register_client_auth_method("client_secret_basic", client_secret_basic)
    if features.private_key_jwt:
        assertion = PrivateKeyJwt(server.issuer, f"{server.issuer}{TOKEN_PATH}", store)
        server.register_client_auth_method("private_key_jwt", assertion)
