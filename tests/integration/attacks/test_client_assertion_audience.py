"""private_key_jwt over HTTP: which `aud` a client assertion may carry.

OIDC Core 9 says the audience SHOULD be the token endpoint's URL; RFC 7523 3 says it
identifies the authorization server, the issuer being the safest name for it
(draft-ietf-oauth-rfc7523bis). The provider accepts exactly those two, at the token,
introspection and revocation endpoints alike, and nothing else: another URL of ours,
someone else's, or a list with none of the two.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.integration.attacks.conftest import Live

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KEY = ECKey.generate_key("P-256", {"kid": "k1"}, private=True)


@pytest.fixture(scope="module")
def client_id(live: Live) -> str:
    rp = live.client(
        grant_types=["client_credentials"],
        redirect_uris=[],
        scopes=["openid"],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [KEY.as_dict(private=False)]},
    )
    return rp.client_id


def assertion_for(client_id: str, audience: Any) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": secrets.token_urlsafe(12),
        "iat": now,
        "exp": now + 60,
    }
    signed = jwt.encode({"alg": "ES256", "kid": "k1"}, claims, KEY)
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": signed}


def audiences(live: Live) -> dict[str, Any]:
    return {
        "issuer": live.url,
        "token endpoint": live.url + "/token",
        "issuer in a list": [live.url],
        "token endpoint among others": ["https://other.example", live.url + "/token"],
    }


def refused_audiences(live: Live) -> dict[str, Any]:
    return {
        "introspection endpoint": live.url + "/introspect",
        "authorization endpoint": live.url + "/authorize",
        "issuer with a slash": live.url + "/",
        "another server": "https://other.example/token",
        "only others": ["https://other.example", live.url + "/userinfo"],
        "empty list": [],
    }


GOOD = ["issuer", "token endpoint", "issuer in a list", "token endpoint among others"]
BAD = [
    "introspection endpoint",
    "authorization endpoint",
    "issuer with a slash",
    "another server",
    "only others",
    "empty list",
]


@pytest.mark.parametrize("name", GOOD)
def test_the_issuer_or_the_token_endpoint_is_accepted_at_the_token_endpoint(live, client_id, name):
    data = {"grant_type": "client_credentials", **assertion_for(client_id, audiences(live)[name])}
    response = live.post("/token", data=data)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


@pytest.mark.parametrize("path", ["/introspect", "/revoke"])
@pytest.mark.parametrize("name", ["issuer", "token endpoint"])
def test_the_same_audiences_are_accepted_at_introspection_and_revocation(
    live, client_id, path, name
):
    data = {"token": "x", **assertion_for(client_id, audiences(live)[name])}
    response = live.post(path, data=data)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("name", BAD)
@pytest.mark.parametrize("path", ["/token", "/introspect"])
def test_any_other_audience_is_invalid_client(live, client_id, name, path):
    data = {"grant_type": "client_credentials", "token": "x"}
    data.update(assertion_for(client_id, refused_audiences(live)[name]))
    response = live.post(path, data=data)
    assert response.status_code == 400, response.text  # 401 only for an Authorization header
    assert response.json()["error"] == "invalid_client"
