"""POST /token through the pipeline, one grant at a time: what a relying party or a
service gets, what it is refused, and that a refused request spends nothing."""

from __future__ import annotations

import secrets

import pytest

from tests.integration.oidc.conftest import RegisteredClient, redeem
from tests.integration.oidc.machine.conftest import (
    GRANTED,
    NOT_ACTIVE,
    ask,
    assert_always,
    audit_rows,
    basic,
    claims_of,
    refresh,
)


# -- refresh_token ----------------------------------------------------------------------
def test_a_refresh_rotates_and_everything_it_returns_works(app, rp, refresh_token):
    client = app.test_client()
    response = client.post("/token", **refresh(rp, refresh_token()))
    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer" and body["scope"] == GRANTED
    assert {"access_token", "id_token", "refresh_token", "expires_in"} <= set(body)
    assert response.headers["Content-Type"] == "application/json"
    assert_always(response.headers)
    assert claims_of(body["id_token"])["aud"] == rp.client_id
    introspected = client.post("/introspect", **ask(rp, body["access_token"])).json
    assert introspected["active"] is True
    again = client.post("/token", **refresh(rp, body["refresh_token"]))
    assert again.status_code == 200
    assert again.json["refresh_token"] != body["refresh_token"]


def test_a_replayed_refresh_token_revokes_its_family_and_is_audited_with_its_origin(
    app, rp, refresh_token
):
    client = app.test_client()
    first = refresh_token()
    rotated = client.post("/token", **refresh(rp, first))
    assert rotated.status_code == 200
    replay = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": first},
        headers={**rp.basic, "User-Agent": "stolen-token-replayer/1.0"},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"
    # the whole family is gone: the successor and the access token issued with it
    successor = client.post("/token", **refresh(rp, rotated.json["refresh_token"]))
    assert successor.status_code == 400 and successor.json["error"] == "invalid_grant"
    gone = client.post("/introspect", **ask(rp, rotated.json["access_token"]))
    assert gone.json == NOT_ACTIVE
    [row] = audit_rows(app, "client:refresh_token:reused")
    assert row.ip == "192.0.2.7" and row.user_agent == "stolen-token-replayer/1.0"
    assert row.detail == {"client_id": rp.client_id, "family_revoked": True}


def test_a_public_client_refreshes_with_its_client_id_alone(app, register, browser):
    public = register(token_endpoint_auth_method="none")
    code, verifier = browser.code_for(public, scope=GRANTED)
    issued = redeem(app.test_client(), public, code, verifier).json
    form = {"grant_type": "refresh_token", "client_id": public.client_id}
    with_secret = app.test_client().post(
        "/token", data={**form, "refresh_token": issued["refresh_token"], "client_secret": "x"}
    )
    assert with_secret.status_code == 401 and with_secret.json["error"] == "invalid_client"
    response = app.test_client().post(
        "/token", data={**form, "refresh_token": issued["refresh_token"]}
    )
    assert response.status_code == 200 and "refresh_token" in response.json


@pytest.mark.parametrize(
    "case, status, error",
    [
        ("unknown refresh token", 400, "invalid_grant"),
        ("no refresh token", 400, "invalid_request"),
        ("wrong secret", 401, "invalid_client"),
        ("no client authentication", 401, "invalid_client"),
        ("unknown client", 401, "invalid_client"),
        ("wider scope", 400, "invalid_scope"),
        ("another client's token", 400, "invalid_grant"),
        ("a client without the grant", 400, "unauthorized_client"),
    ],
)
def test_refresh_refusals_spend_nothing(
    app, rp, register, service, refresh_token, case, status, error
):
    live = refresh_token()
    other = register()
    requests = {
        "unknown refresh token": refresh(rp, secrets.token_urlsafe(32)),
        "no refresh token": {"headers": rp.basic, "data": {"grant_type": "refresh_token"}},
        "wrong secret": {**refresh(rp, live), "headers": basic(rp.client_id, "wrong")},
        "no client authentication": {**refresh(rp, live), "headers": {}},
        "unknown client": {**refresh(rp, live), "headers": basic("no-such-client", "x")},
        "wider scope": refresh(rp, live, scope="openid phone offline_access"),
        "another client's token": refresh(other, live),
        "a client without the grant": refresh(service, live),
    }
    client = app.test_client()
    answer = client.post("/token", **requests[case])
    assert answer.status_code == status and answer.json["error"] == error
    assert_always(answer.headers)
    assert client.post("/token", **refresh(rp, live)).status_code == 200  # still good


# -- client_credentials -----------------------------------------------------------------
@pytest.mark.parametrize(
    "asked, status, outcome",
    [
        ("api", 200, "api"),
        (None, 200, ""),
        ("api openid", 400, "not registered for this client: openid"),
        ("admin api", 400, "not registered for this client: admin"),
    ],
)
def test_client_credentials_carry_registered_scopes_only(app, service, asked, status, outcome):
    form = {"grant_type": "client_credentials"} | ({"scope": asked} if asked else {})
    client = app.test_client()
    answer = client.post("/token", headers=service.basic, data=form)
    assert answer.status_code == status
    if status == 200:
        assert answer.json["scope"] == outcome
        assert "refresh_token" not in answer.json and "id_token" not in answer.json
        checked = client.post("/introspect", **ask(service, answer.json["access_token"])).json
        assert checked["active"] is True and checked["scope"] == outcome
        assert checked["sub"] == service.client_id
    else:
        assert answer.json == {"error": "invalid_scope", "error_description": outcome}


def test_client_credentials_need_a_client_registered_for_them(app, rp):
    answer = app.test_client().post(
        "/token", headers=rp.basic, data={"grant_type": "client_credentials"}
    )
    assert answer.status_code == 400 and answer.json["error"] == "unauthorized_client"


# -- authorization_code (the rest: tests/integration/oidc/test_attacks.py) ----------------
def test_a_code_is_redeemed_once(app, browser, rp):
    code, verifier = browser.code_for(rp, scope=GRANTED)
    first = redeem(app.test_client(), rp, code, verifier)
    assert first.status_code == 200 and {"id_token", "refresh_token"} <= set(first.json)
    assert_always(first.headers)
    replay = redeem(app.test_client(), rp, code, verifier)
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"
    assert len(audit_rows(app, "client:code:replayed")) == 1


# -- grant types ------------------------------------------------------------------------
@pytest.mark.parametrize("grant_type", ["password", "implicit", "urn:x:unknown", ""])
def test_a_grant_type_not_served_is_unsupported(app, rp, grant_type):
    answer = app.test_client().post("/token", headers=rp.basic, data={"grant_type": grant_type})
    assert answer.status_code == 400 and answer.json == {"error": "unsupported_grant_type"}


def test_no_grant_type_is_unsupported(app, rp):
    answer = app.test_client().post("/token", headers=rp.basic, data={})
    assert answer.status_code == 400 and answer.json == {"error": "unsupported_grant_type"}


# -- behind a TLS-terminating proxy ------------------------------------------------------
class TestBehindATlsProxy:
    """ProxyFix stands in front of the pipeline, so it sees the client's scheme and host."""

    @pytest.fixture
    def app(self, make_app):
        return make_app(issuer="https://idp.example.test", trusted_proxies=1)

    def test_tokens_through_the_proxy_and_plain_http_refused(self, app, service: RegisteredClient):
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "idp.example.test"}
        form = {"grant_type": "client_credentials"}
        answer = app.test_client().post(
            "/token", headers={**service.basic, **proxied}, data=form, base_url="http://10.0.0.5/"
        )
        assert answer.status_code == 200
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
        assert claims_of(answer.json["access_token"])["iss"] == "https://idp.example.test"
        direct = app.test_client().post(
            "/token", headers=service.basic, data=form, base_url="http://10.0.0.5/"
        )
        assert direct.status_code == 400
        assert direct.json == {
            "error": "invalid_request",
            "error_description": "OAuth 2 MUST utilize https.",
        }
