"""The pipeline over real HTTP, served by `idp serve` (granian, two workers) on PostgreSQL
and a Redis of its own: what the WSGI test client cannot show (a chunked body as a
server delivers it, keep-alive connections, the bytes on the wire), and a kiosk's
private_key_jwt at every endpoint."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey

from tests.integration.attacks.conftest import Live, Rp, provider_process
from tests.integration.oidc.machine.conftest import ALWAYS, FORM, JWT_BEARER
from tests.servers import PostgresServer, RedisServer

KEY = ECKey.generate_key("P-256", {"kid": "kiosk-1"}, private=True)


@pytest.fixture(scope="module")
def live(postgres_server: PostgresServer) -> Iterator[Live]:
    tmp = Path(tempfile.mkdtemp(prefix="idp-mach-"))
    redis = RedisServer().start()
    try:
        with provider_process(postgres_server, tmp, redis.url) as (url, env, app, log):
            yield Live(url, env, app, log)
    finally:
        redis.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def rp(live: Live) -> Rp:
    return live.client(grant_types=["authorization_code", "refresh_token", "client_credentials"])


@pytest.fixture(scope="module")
def kiosk(live: Live) -> Rp:
    return live.client(
        name="自助终端",
        grant_types=["client_credentials"],
        redirect_uris=[],
        scopes=["openid"],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [KEY.as_dict(private=False)]},
    )


@pytest.fixture(autouse=True)
def no_traceback(live: Live) -> Iterator[None]:
    seen = len(live.output())
    yield
    assert "Traceback" not in live.output()[seen:]


def assertion(live: Live, kiosk: Rp) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "iss": kiosk.client_id,
        "sub": kiosk.client_id,
        "aud": live.url + "/token",
        "jti": secrets.token_urlsafe(12),
        "iat": now,
        "exp": now + 60,
    }
    signed = jose_jwt.encode({"alg": "ES256", "kid": "kiosk-1"}, claims, KEY)
    return {"client_assertion_type": JWT_BEARER, "client_assertion": signed}


def chunks(body: bytes) -> Iterator[bytes]:
    """A body `requests` sends with Transfer-Encoding: chunked (no Content-Length)."""
    yield body[:7]
    yield body[7:]


def test_chunked_bodies_are_read_at_every_endpoint(live: Live, rp: Rp) -> None:
    headers = {"Content-Type": FORM}
    issued = live.post(
        "/token", data=chunks(b"grant_type=client_credentials"), headers=headers, auth=rp.basic
    )
    assert issued.status_code == 200, issued.text
    assert issued.request.headers.get("Transfer-Encoding") == "chunked"
    token = issued.json()["access_token"]
    form = f"token={token}".encode()
    introspected = live.post("/introspect", data=chunks(form), headers=headers, auth=rp.basic)
    assert introspected.status_code == 200 and introspected.json()["active"] is True
    revoked = live.post("/revoke", data=chunks(form), headers=headers, auth=rp.basic)
    assert revoked.status_code == 200 and revoked.json() == {}
    after = live.post("/introspect", data={"token": token}, auth=rp.basic)
    assert after.json() == {"active": False}


def test_a_body_that_is_not_utf8_is_an_oauth_error(live: Live, rp: Rp) -> None:
    for path, expected in (
        ("/introspect", {"error": "invalid_request"}),
        ("/token", {"error": "unsupported_grant_type"}),
    ):
        response = live.post(
            path, data=b"token=x&grant_type=client_credentials&n=\xff\xfe", auth=rp.basic,
            headers={"Content-Type": FORM},
        )  # fmt: skip
        assert response.status_code == 400 and response.json() == expected, path


def test_a_kiosk_uses_its_key_at_every_endpoint_once_per_assertion(live: Live, kiosk: Rp) -> None:
    issued = live.post(
        "/token", data={"grant_type": "client_credentials", **assertion(live, kiosk)}
    )
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    once = assertion(live, kiosk)
    described = live.post("/introspect", data={"token": token, **once})
    assert described.status_code == 200 and described.json()["active"] is True
    replayed = live.post("/introspect", data={"token": token, **once})
    assert replayed.status_code == 400
    assert replayed.json()["error_description"] == "JWT ID is used before."
    revoked = live.post("/revoke", data={"token": token, **assertion(live, kiosk)})
    assert revoked.status_code == 200
    gone = live.post("/introspect", data={"token": token, **assertion(live, kiosk)})
    assert gone.json() == {"active": False}


def test_answers_on_the_wire(live: Live, rp: Rp) -> None:
    """Over one keep-alive connection: the headers, a Content-Length that fits, and the
    refusals of other methods."""
    with requests.Session() as http:
        answers = [
            http.post(f"{live.url}{path}", data=form, auth=rp.basic, timeout=10)
            for path, form in (
                ("/token", {"grant_type": "client_credentials"}),
                ("/introspect", {"token": "x"}),
                ("/revoke", {"token": "x"}),
                ("/token", [("grant_type", "client_credentials"), ("scope", "a"), ("scope", "b")]),
            )
        ]
        for answer in answers:
            assert answer.headers["Content-Type"] == "application/json"
            assert int(answer.headers["Content-Length"]) == len(answer.content)
            for name, value in ALWAYS.items():
                assert answer.headers[name] == value, name
        assert [a.status_code for a in answers] == [200, 200, 200, 400]
        get = http.get(f"{live.url}/introspect", timeout=10)
        assert get.status_code == 405 and get.headers["Allow"] == "OPTIONS, POST"
        assert get.json()["error"] == "invalid_request"
        head = http.head(f"{live.url}/token", timeout=10)
        assert head.status_code == 405 and head.content == b""
