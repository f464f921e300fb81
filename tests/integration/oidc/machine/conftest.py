"""Fixtures of the machine-to-machine pipeline's tests (idp/oidc/machine): the clients a
relying party, a service and a kiosk register, fresh tokens, and client assertions.

Every request goes through the whole app (`app.test_client()`, the WSGI stack in front of
Flask) or, in test_http.py, over HTTP to `idp serve`."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey
from sqlalchemy import select

from idp.audit import AuditEvent
from idp.db import db
from tests.integration.oidc.conftest import RegisteredClient, redeem

GRANTED = "openid profile offline_access"
NOT_ACTIVE = {"active": False}
HTTPS_REQUIRED = {"error": "invalid_request", "error_description": "OAuth 2 MUST utilize https."}
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FORM = "application/x-www-form-urlencoded"
# what every answer of the pipeline carries (idp/headers.py, RFC 6749 5.1)
ALWAYS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def ask(rp: RegisteredClient, token: str, **form: str) -> dict[str, Any]:
    """An introspection or revocation request of `rp` (client_secret_basic)."""
    return {"headers": rp.basic, "data": {"token": token, **form}}


def refresh(rp: RegisteredClient, token: str, **form: str) -> dict[str, Any]:
    data = {"grant_type": "refresh_token", "refresh_token": token, **form}
    return {"headers": rp.basic, "data": data}


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def assert_always(headers: Any) -> None:
    for name, value in ALWAYS.items():
        assert headers[name] == value, name


def audit_rows(app: Any, event: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event)))


@dataclass
class Kiosk:
    """A private_key_jwt client: its registration and its key."""

    client: RegisteredClient
    key: ECKey
    issuer: str

    def assertion(self, audience: str | None = None, **claims: Any) -> dict[str, str]:
        """A fresh client assertion (each jti is accepted once) for `audience`, by default
        the token endpoint (OIDC Core 9)."""
        now = int(time.time())
        body = {
            "iss": self.client.client_id,
            "sub": self.client.client_id,
            "aud": audience or f"{self.issuer}/token",
            "jti": secrets.token_urlsafe(12),
            "iat": now,
            "exp": now + 60,
            **claims,
        }
        signed = jose_jwt.encode({"alg": "ES256", "kid": "kiosk-1"}, body, self.key)
        return {"client_assertion_type": JWT_BEARER, "client_assertion": signed}


@pytest.fixture
def kiosk(app, register) -> Kiosk:
    key = ECKey.generate_key("P-256")
    client = register(
        name="自助终端",
        grant_types=["client_credentials"],
        redirect_uris=[],
        scopes=["api"],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [{**key.as_dict(private=False), "kid": "kiosk-1", "alg": "ES256"}]},
    )
    return Kiosk(client, key, app.extensions["idp.settings"].issuer)


@pytest.fixture
def service(register) -> RegisteredClient:
    """A confidential service: client credentials, and the resource server of nobody."""
    return register(grant_types=["client_credentials"], redirect_uris=[], scopes=["api"])


@pytest.fixture
def tokens(app, browser, rp) -> dict[str, str]:
    """`rp`'s token response after one sign-in: access, ID and refresh tokens."""
    code, verifier = browser.code_for(rp, scope=GRANTED)
    response = redeem(app.test_client(), rp, code, verifier)
    assert response.status_code == 200
    return dict(response.json)


@pytest.fixture
def refresh_token(app, browser, rp) -> Callable[[], str]:
    """A fresh refresh token of `rp` for the signed-in person, one sign-in each."""

    def fresh() -> str:
        code, verifier = browser.code_for(rp, scope=GRANTED)
        response = redeem(app.test_client(), rp, code, verifier)
        assert response.status_code == 200, response.json
        return str(response.json["refresh_token"])

    return fresh
