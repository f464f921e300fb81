"""What the provider offers relying parties: every grant, endpoint and client
authentication method is a flag here, with its default (as node oidc-provider's
`features`). The rest follows from this one place:

- the server registers only what is on (idp/oidc/runtime.py, `register_features` in
  idp/oidc/server.py);
- the machine-to-machine pipeline mounts only the endpoints that are on
  (idp/oidc/machine/app.py);
- discovery advertises exactly that (idp/oidc/endpoints.py, `discovery_document`);
- client registration accepts exactly that (idp/oidc/clients.py, `GRANT_TYPES` and
  `AUTH_METHODS`), and each grant and endpoint takes the methods listed here.

A feature turned on without its implementation registered is a start-up error, not a
silently missing endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

TOKEN_PATH = "/token"

# RFC 8628 3.4 and OpenID CIBA 10.1: the grant types of the two features that are off
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CIBA_GRANT = "urn:openid:params:grant-type:ciba"
# RFC 7523 2.1: a kiosk asserts the ID card it read and the face it captured
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Endpoint:
    """An endpoint beside the token endpoint: Authlib's ENDPOINT_NAME, where it is
    mounted, the discovery metadata naming it and, for one that takes the token
    endpoint's client authentication, the metadata listing those methods (RFC 8414 2)."""

    name: str
    path: str
    metadata: str
    auth_methods_metadata: str | None = None


INTROSPECTION = Endpoint(
    "introspection",
    "/introspect",
    "introspection_endpoint",
    "introspection_endpoint_auth_methods_supported",
)
REVOCATION = Endpoint(
    "revocation", "/revoke", "revocation_endpoint", "revocation_endpoint_auth_methods_supported"
)
DEVICE_AUTHORIZATION = Endpoint(
    "device_authorization", "/device_authorization", "device_authorization_endpoint"
)
BACKCHANNEL_AUTHENTICATION = Endpoint(
    "backchannel_authentication", "/backchannel_authenticate", "backchannel_authentication_endpoint"
)


@dataclass(frozen=True)
class Features:
    # grants at the token endpoint (authorization_code is what OpenID Connect is)
    refresh_token: bool = True
    client_credentials: bool = True
    # endpoints
    introspection: bool = True  # RFC 7662
    revocation: bool = True  # RFC 7009
    device_flow: bool = True  # RFC 8628: device authorization endpoint + device_code grant
    ciba: bool = True  # OpenID CIBA: backchannel authentication endpoint + ciba grant
    jwt_bearer: bool = True  # RFC 7523: kiosk assertions (ID card chip + face)
    # client authentication at the token, introspection and revocation endpoints
    client_secret_basic: bool = True
    client_secret_post: bool = True
    private_key_jwt: bool = True  # RFC 7523 2.2; how kiosks authenticate
    none: bool = True  # public clients (PKCE at the code)

    @property
    def grant_types(self) -> tuple[str, ...]:
        """Every grant type the token endpoint takes, in the order discovery lists them."""
        flags = (
            ("authorization_code", True),
            ("refresh_token", self.refresh_token),
            ("client_credentials", self.client_credentials),
            (DEVICE_CODE_GRANT, self.device_flow),
            (CIBA_GRANT, self.ciba),
            (JWT_BEARER_GRANT, self.jwt_bearer),
        )
        return tuple(name for name, on in flags if on)

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        flags = (
            (INTROSPECTION, self.introspection),
            (REVOCATION, self.revocation),
            (DEVICE_AUTHORIZATION, self.device_flow),
            (BACKCHANNEL_AUTHENTICATION, self.ciba),
        )
        return tuple(endpoint for endpoint, on in flags if on)

    @property
    def client_auth_methods(self) -> tuple[str, ...]:
        """What a client may register as its `token_endpoint_auth_method`."""
        flags = (
            ("client_secret_basic", self.client_secret_basic),
            ("client_secret_post", self.client_secret_post),
            ("private_key_jwt", self.private_key_jwt),
            ("none", self.none),
        )
        return tuple(name for name, on in flags if on)

    @property
    def confidential_auth_methods(self) -> tuple[str, ...]:
        """The methods of clients that hold a credential: client_credentials takes only
        these (a public client has nothing to prove it is itself)."""
        return tuple(method for method in self.client_auth_methods if method != "none")


FEATURES = Features()
