"""Helpers of the fast-path tests (their fixtures are in conftest.py)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import TestResponse

from idp.oidc.fast_paths import FastOAuth
from tests.integration.oidc.conftest import RegisteredClient

Request = dict[str, Any]


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str]
    via_flask: bool  # the fast path handed the request to Flask


def fast_layer(app: Any) -> FastOAuth:
    layer = app.wsgi_app
    while not isinstance(layer, FastOAuth):
        layer = layer.app if isinstance(layer, ProxyFix) else layer.wsgi_app
    return layer


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def ask(rp: RegisteredClient, token: str, **form: str) -> Request:
    return {"headers": rp.basic, "data": {"token": token, **form}}


NOT_ACTIVE = {"active": False}
HTTPS_REQUIRED = {"error": "invalid_request", "error_description": "OAuth 2 MUST utilize https."}


# claims that differ between two tokens issued for the same kind of request: random,
# time-dependent, or naming the grant (each refresh request needs a sign-in of its own)
FRESH_CLAIMS = {"jti", "iat", "exp", "at_hash", "gid"}


def jose_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _signature = token.split(".")
    return _b64json(header), _b64json(payload)


def _b64json(part: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def assert_same_token_answer(fast: TestResponse, slow: TestResponse) -> None:
    """Two token answers to the same request: the same status, headers (the length apart)
    and fields; their JWTs with the same JOSE header and the same claims, bar FRESH_CLAIMS."""
    assert fast.status == slow.status
    pairs = zip(fast.headers.to_wsgi_list(), slow.headers.to_wsgi_list(), strict=True)
    for (name, value), (slow_name, slow_value) in pairs:
        assert name == slow_name
        assert name == "Content-Length" or value == slow_value, name
    mine, theirs = fast.json, slow.json
    assert mine is not None and theirs is not None
    assert set(mine) == set(theirs)
    for field in ("token_type", "expires_in", "scope"):
        assert mine.get(field) == theirs.get(field), field
    for field in ("access_token", "id_token"):
        if field in mine:
            (header, claims), (slow_header, slow_claims) = (
                jose_parts(mine[field]),
                jose_parts(theirs[field]),
            )
            assert header == slow_header, field
            assert set(claims) == set(slow_claims), field
            for name in set(claims) - FRESH_CLAIMS:
                assert claims[name] == slow_claims[name], (field, name)


JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def assertion_form(client_id: str, key: ECKey, kid: str) -> dict[str, str]:
    """private_key_jwt: a fresh client assertion (each jti is accepted once)."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": "http://127.0.0.1:8000",
        "jti": secrets.token_urlsafe(8),
        "iat": now,
        "exp": now + 60,
    }
    assertion = jose_jwt.encode({"alg": "ES256", "kid": kid}, claims, key)
    return {"client_assertion_type": JWT_BEARER, "client_assertion": assertion}


def assert_same_bytes(fast: TestResponse, slow: TestResponse) -> None:
    assert fast.status == slow.status
    assert fast.headers.to_wsgi_list() == slow.headers.to_wsgi_list()
    assert fast.data == slow.data
