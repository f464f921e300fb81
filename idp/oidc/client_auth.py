"""private_key_jwt client authentication (RFC 7523 section 2.2, OIDC Core section 9).

Authlib registers its assertion method as `client_assertion_jwt`; we register it under
the standard name, accept only our issuer as audience, and remember every `jti` in Redis
until the assertion expires so it cannot be replayed.
"""

from __future__ import annotations

import time
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc.jwk import KeySet

from idp.store import ArtifactStore

MAX_ASSERTION_LIFETIME = 600


class PrivateKeyJwt(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, issuer: str, store: ArtifactStore) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.issuer = issuer
        self.store = store

    def get_audiences(self) -> list[str]:
        return [self.issuer]

    def resolve_client_public_key(self, client: Any) -> Any:
        if not client.jwks:
            raise InvalidClientError(description="the client has no registered keys")
        return KeySet.import_key_set(client.jwks)

    def validate_jti(self, claims: Any, jti: str) -> bool:
        lifetime = int(claims["exp"]) - int(time.time())
        if lifetime > MAX_ASSERTION_LIFETIME:
            raise InvalidClientError(description="client assertion lives too long")
        ttl = max(lifetime + self.leeway, 1)
        return self.store.add_once(
            "client-assertion-jti", f"{claims['iss']}:{jti}", {"exp": claims["exp"]}, ttl
        )
