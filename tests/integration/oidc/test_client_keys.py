"""private_key_jwt with keys the client publishes at its `jwks_uri` (a real HTTP server on
loopback), and the registration rules for it."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from idp.oidc.clients import ClientMetadataError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class KeyServer:
    """The client's own web server, publishing its JWK set (or failing, when told to)."""

    def __init__(self) -> None:
        self.body: dict[str, Any] = {"keys": []}
        self.status = 200
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                payload = json.dumps(outer.body).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    server = KeyServer()
    yield server
    server.httpd.shutdown()


def assertion(key: ECKey, client_id: str, audience: str, kid: str = "k1") -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": secrets.token_urlsafe(12),
        "iat": now,
        "exp": now + 60,
    }
    return jwt.encode({"alg": "ES256", "kid": kid}, claims, key)


def token_request(app, client_id: str, signed: str):
    return app.test_client().post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
        },
    )


def test_a_client_authenticates_with_keys_from_its_jwks_uri(app, register, key_server):
    key = ECKey.generate_key("P-256")
    key_server.body = {"keys": [{**key.as_dict(private=False), "kid": "k1", "alg": "ES256"}]}
    rp = register(
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="private_key_jwt",
        jwks_uri=key_server.url,
    )
    issuer = app.extensions["idp.settings"].issuer
    response = token_request(app, rp.client_id, assertion(key, rp.client_id, issuer))
    assert response.status_code == 200, response.json
    assert response.json["token_type"] == "Bearer"
    # a key the client does not publish is refused
    stranger = ECKey.generate_key("P-256")
    refused = token_request(app, rp.client_id, assertion(stranger, rp.client_id, issuer))
    assert refused.status_code in (400, 401) and refused.json["error"] == "invalid_client"


def test_an_unreachable_or_broken_jwks_uri_refuses_the_client(app, register, key_server):
    key = ECKey.generate_key("P-256")
    rp = register(
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="private_key_jwt",
        jwks_uri=key_server.url,
    )
    issuer = app.extensions["idp.settings"].issuer
    key_server.status = 500
    key_server.body = {"keys": [{**key.as_dict(private=False), "kid": "k1"}]}
    response = token_request(app, rp.client_id, assertion(key, rp.client_id, issuer))
    assert response.status_code == 400  # RFC 6749 5.2: 401 only for the Authorization header
    assert response.json["error"] == "invalid_client"
    assert "jwks_uri" in response.json["error_description"]
    assert key_server.hits == 1


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"jwks_uri": "http://keys.example.test/jwks.json"}, "jwks_uri"),  # http off loopback
        ({"jwks_uri": "https://rp.example.test/jwks.json", "jwks": {"keys": []}}, "jwks_uri"),
        ({}, "jwks"),  # private_key_jwt with no keys at all
    ],
)
def test_registration_rules_for_client_keys(register, metadata, field):
    with pytest.raises(ClientMetadataError) as refused:
        register(
            grant_types=["client_credentials"],
            redirect_uris=[],
            token_endpoint_auth_method="private_key_jwt",
            **metadata,
        )
    assert refused.value.field == field
