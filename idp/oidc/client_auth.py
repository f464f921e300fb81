"""Client authentication methods the server registers in place of Authlib's.

client_secret_basic: a Basic header whose credentials are not text counts as no
credentials, as one that is not base64 does, so the request ends in `invalid_client`.

private_key_jwt (RFC 7523 section 2.2, OIDC Core section 9): Authlib registers its
assertion method as `client_assertion_jwt`; we register it under the standard name, accept
the audiences below, and remember every `jti` in Redis until the assertion expires so it
cannot be replayed.

The assertion's `aud` must name us as one of exactly two values, wherever the client
authenticates (token, introspection, revocation): the token endpoint's URL, which OIDC
Core 9 says it SHOULD be (most client libraries send it), or the issuer, which RFC 7523 3
allows and draft-ietf-oauth-rfc7523bis makes the one safe value. Nothing else: not the
URL of the endpoint called, not another URL of ours. Every value accepted is one more a
client might be tricked into minting for another server (the rfc7523bis attack), and an
assertion for our token endpoint already authenticates a client to us everywhere.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import requests
from authlib.oauth2.rfc6749 import InvalidClientError, OAuth2Request
from authlib.oauth2.rfc6749.authenticate_client import authenticate_client_secret_basic
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.store import ArtifactStore

log = logging.getLogger(__name__)

MAX_ASSERTION_LIFETIME = 600
MAX_JWKS_BYTES = 64 * 1024


def client_secret_basic(query_client: Any, request: OAuth2Request) -> Any:
    """Authlib's method, but a header it cannot decode (non-ASCII base64, or credentials
    that are not UTF-8) is no credentials rather than an exception (a 500 page)."""
    try:
        extract_basic_authorization(request.headers)
    except ValueError:  # UnicodeDecodeError included
        return None
    return authenticate_client_secret_basic(query_client, request)


class PrivateKeyJwt(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, issuer: str, token_endpoint: str, store: ArtifactStore) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.audiences = [issuer, token_endpoint]  # see the module's docstring
        self.store = store
        self.remote_keys = RemoteKeySets()

    def get_audiences(self) -> list[str]:
        return self.audiences

    def resolve_client_public_key(self, client: Any) -> Any:
        if client.jwks:
            return KeySet.import_key_set(client.jwks)
        if client.jwks_uri:
            return self.remote_keys.get(client.jwks_uri)
        raise InvalidClientError(description="the client has no registered keys")

    def validate_jti(self, claims: Any, jti: str) -> bool:
        lifetime = int(claims["exp"]) - int(time.time())
        if lifetime > MAX_ASSERTION_LIFETIME:
            raise InvalidClientError(description="client assertion lives too long")
        ttl = max(lifetime + self.leeway, 1)
        return self.store.add_once(
            "client-assertion-jti", f"{claims['iss']}:{jti}", {"exp": claims["exp"]}, ttl
        )


class RemoteKeySets:
    """Key sets clients publish at their `jwks_uri`, fetched and kept for `ttl` seconds.

    The URI was registered by an administrator (https, or http on loopback only); the
    answer is bounded in size and time, and a failed fetch refuses the client rather than
    trusting stale keys past their time.
    """

    def __init__(self, ttl: float = 60.0, timeout: float = 3.0) -> None:
        self.ttl, self.timeout = ttl, timeout
        self._cache: dict[str, tuple[float, KeySet]] = {}
        self._lock = threading.Lock()

    def get(self, uri: str) -> KeySet:
        hit = self._cache.get(uri)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        try:
            response = requests.get(uri, timeout=self.timeout, allow_redirects=False, stream=True)
            body = response.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
            response.close()
            if response.status_code != 200 or len(body) > MAX_JWKS_BYTES:
                raise ValueError(f"HTTP {response.status_code}, {len(body)} bytes")
            keys = KeySet.import_key_set(json.loads(body))
        except (requests.RequestException, ValueError, TypeError, KeyError, JoseError) as exc:
            log.warning("client jwks_uri %s not usable: %s", uri, exc)
            raise InvalidClientError(
                description="the client's jwks_uri could not be fetched"
            ) from None
        with self._lock:
            self._cache[uri] = (time.monotonic(), keys)
        return keys
