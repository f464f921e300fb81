"""POST /token with the refresh_token and client_credentials grants, answered in front of
Flask (idp/oidc/fast_paths.py), is answered as the Flask view answers it.

Every request is sent twice through the whole app, once as it comes and once forced to
Flask (the `token` fixture): refusals must be the same bytes, issued tokens the same
fields and claims. Each case also says which way the fast path went and what the answer
means to the RP.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from joserfc.jwk import ECKey
from sqlalchemy import select
from werkzeug.test import Client

from idp.audit import AuditEvent
from idp.db import db
from idp.errors import StoreUnavailableError
from tests.integration.oidc.conftest import RegisteredClient, redeem
from tests.integration.oidc.fast_paths.support import (
    HTTPS_REQUIRED,
    NOT_ACTIVE,
    Request,
    ask,
    assertion_form,
    basic,
    jose_parts,
)

GRANTED = "openid profile offline_access"


@pytest.fixture
def refresh_token(app, browser, rp) -> Callable[[], str]:
    """A fresh refresh token of `rp` for the signed-in person, one sign-in each."""

    def fresh() -> str:
        code, verifier = browser.code_for(rp, scope=GRANTED)
        response = redeem(app.test_client(), rp, code, verifier)
        assert response.status_code == 200, response.json
        return str(response.json["refresh_token"])

    return fresh


@pytest.fixture
def service(register) -> RegisteredClient:
    return register(grant_types=["client_credentials"], redirect_uris=[], scopes=["api"])


def refresh(rp: RegisteredClient, token: str, **form: str) -> Request:
    data = {"grant_type": "refresh_token", "refresh_token": token, **form}
    return {"headers": rp.basic, "data": data}


def reused_rows(app: Any) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.event == "client:refresh_token:reused")
        return list(db.session.scalars(query))


# -- what the fast path answers ---------------------------------------------------------
def test_a_refresh_is_answered_without_flask(app, token, rp, refresh_token, introspect):
    answer = token(lambda: refresh(rp, refresh_token()))
    assert answer.status == 200 and not answer.via_flask
    body = answer.body
    assert body is not None and body["token_type"] == "Bearer" and body["scope"] == GRANTED
    assert {"access_token", "id_token", "refresh_token", "expires_in"} <= set(body)
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Pragma"] == "no-cache"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    # what the RP got works: the access token is live, the new refresh token rotates again
    assert introspect(ask(rp, body["access_token"])).body["active"] is True  # type: ignore[index]
    again = Client(app).post("/token", **refresh(rp, body["refresh_token"]))
    assert again.status_code == 200
    assert again.json["refresh_token"] != body["refresh_token"]


def test_a_replayed_refresh_token_revokes_its_family_and_is_audited_with_its_origin(
    app, rp, refresh_token, introspect
):
    first = refresh_token()
    client = Client(app)
    origin = {"environ_base": {"REMOTE_ADDR": "192.0.2.7"}}
    headers = {**rp.basic, "User-Agent": "stolen-token-replayer/1.0"}
    form = {"grant_type": "refresh_token", "refresh_token": first}
    rotated = client.post("/token", data=form, headers=rp.basic)
    assert rotated.status_code == 200
    successor = rotated.json["refresh_token"]
    replay = client.post("/token", data=form, headers=headers, **origin)
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"
    # the whole family is gone: the successor and the access token issued with it
    successor_use = client.post(
        "/token", data={**form, "refresh_token": successor}, headers=rp.basic
    )
    assert successor_use.status_code == 400 and successor_use.json["error"] == "invalid_grant"
    assert introspect(ask(rp, rotated.json["access_token"])).body == NOT_ACTIVE
    [row] = reused_rows(app)
    assert row.ip == "192.0.2.7" and row.user_agent == "stolen-token-replayer/1.0"
    assert row.detail["client_id"] == rp.client_id and row.detail["family_revoked"] is True


def test_a_public_clients_refresh_is_answered_without_flask(app, token, register, browser):
    """A public client (no secret; PKCE at the code) sends its client_id in the form."""
    public = register(token_endpoint_auth_method="none")

    def request() -> Request:
        code, verifier = browser.code_for(public, scope=GRANTED)
        issued = redeem(app.test_client(), public, code, verifier).json
        form = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
        return {"data": {**form, "client_id": public.client_id}}

    answer = token(request)
    assert answer.status == 200 and not answer.via_flask
    assert answer.body is not None and "refresh_token" in answer.body
    with_secret = token(lambda: {"data": {**request()["data"], "client_secret": "guess"}})
    assert with_secret.status == 401 and not with_secret.via_flask


def test_client_credentials_are_answered_without_flask(token, service, introspect):
    answer = token({"headers": service.basic, "data": {"grant_type": "client_credentials"}})
    assert answer.status == 200 and not answer.via_flask
    assert answer.body is not None and "refresh_token" not in answer.body
    assert "id_token" not in answer.body and answer.body["scope"] == ""
    checked = introspect(ask(service, answer.body["access_token"]))
    assert checked.body is not None and checked.body["sub"] == service.client_id


def test_client_secret_post_is_answered_without_flask(token, register):
    service = register(
        grant_types=["client_credentials"],
        redirect_uris=[],
        scopes=["api"],
        token_endpoint_auth_method="client_secret_post",
    )
    form = {"client_id": service.client_id, "client_secret": str(service.secret)}
    answer = token({"data": {"grant_type": "client_credentials", **form}})
    assert answer.status == 200 and not answer.via_flask
    wrong = token({"data": {"grant_type": "client_credentials", **form, "client_secret": "x"}})
    assert wrong.status == 401 and wrong.body is not None
    assert wrong.body["error"] == "invalid_client" and not wrong.via_flask


# -- refusals: the same bytes, nothing changed -------------------------------------------
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
    ],
)
def test_refresh_refusals(app, token, rp, register, refresh_token, case, status, error):
    live = refresh_token()
    other = register()
    requests: dict[str, Request] = {
        "unknown refresh token": refresh(rp, secrets.token_urlsafe(32)),
        "no refresh token": {"headers": rp.basic, "data": {"grant_type": "refresh_token"}},
        "wrong secret": {**refresh(rp, live), "headers": basic(rp.client_id, "wrong")},
        "no client authentication": {**refresh(rp, live), "headers": {}},
        "unknown client": {**refresh(rp, live), "headers": basic("no-such-client", "x")},
        "wider scope": refresh(rp, live, scope="openid phone offline_access"),
        "another client's token": refresh(other, live),
    }
    answer = token(requests[case])
    assert answer.status == status and not answer.via_flask
    assert answer.body is not None and answer.body["error"] == error
    # the refused request spent nothing: the token still rotates
    rotated = Client(app).post("/token", **refresh(rp, live))
    assert rotated.status_code == 200, rotated.json


@pytest.mark.parametrize(
    "asked, status, outcome",
    [
        ("api", 200, "api"),
        (None, 200, ""),
        ("api openid", 400, "not registered for this client: openid"),
        ("admin api", 400, "not registered for this client: admin"),
    ],
)
def test_client_credentials_scopes(token, service, introspect, asked, status, outcome):
    """Only registered scopes: anything else is an invalid_scope, nothing is issued."""
    form = {"grant_type": "client_credentials"} | ({"scope": asked} if asked else {})
    answer = token({"headers": service.basic, "data": form})
    assert answer.status == status and not answer.via_flask and answer.body is not None
    if status == 200:
        assert answer.body["scope"] == outcome
        checked = introspect(ask(service, answer.body["access_token"])).body
        assert checked is not None and checked["scope"] == outcome
    else:
        assert answer.body == {"error": "invalid_scope", "error_description": outcome}


def test_a_client_without_the_grant_is_unauthorized(token, rp, service, refresh_token):
    not_a_service = token({"headers": rp.basic, "data": {"grant_type": "client_credentials"}})
    assert not_a_service.status == 400 and not not_a_service.via_flask
    assert not_a_service.body is not None
    assert not_a_service.body["error"] == "unauthorized_client"
    not_refreshing = token(refresh(service, refresh_token()))
    assert not_refreshing.status == 400 and not_refreshing.body is not None
    assert not_refreshing.body["error"] == "unauthorized_client"


# -- what goes to Flask -----------------------------------------------------------------
def test_other_grants_go_to_flask_and_get_its_answer(token, rp, browser):
    def code_request() -> Request:
        code, verifier = browser.code_for(rp, scope=GRANTED)
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier,
        }
        return {"headers": rp.basic, "data": data}

    redeemed = token(code_request)
    assert redeemed.status == 200 and redeemed.via_flask
    for grant_type in ("password", "implicit", "urn:x:unknown"):
        refused = token({"headers": rp.basic, "data": {"grant_type": grant_type}})
        assert refused.via_flask and refused.status == 400, grant_type
        assert refused.body is not None and refused.body["error"] == "unsupported_grant_type"
    no_grant = token({"headers": rp.basic, "data": {}})
    assert no_grant.via_flask and no_grant.status == 400


def test_private_key_jwt_goes_to_flask(token, register):
    key = ECKey.generate_key("P-256")
    service = register(
        grant_types=["client_credentials"],
        redirect_uris=[],
        scopes=["api"],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [{**key.as_dict(private=False), "kid": "svc-1", "alg": "ES256"}]},
    )

    def request() -> Request:
        form = assertion_form(service.client_id, key, "svc-1")
        return {"data": {"grant_type": "client_credentials", **form}}

    answer = token(request)
    assert answer.via_flask and answer.status == 200


def test_an_insecure_transport_is_an_invalid_request(token, service):
    request = {"headers": service.basic, "data": {"grant_type": "client_credentials"}}
    answer = token(request, base_url="http://idp.example.test/")
    assert answer.via_flask and answer.status == 400 and answer.body == HTTPS_REQUIRED


def test_a_failure_gets_flasks_answer_without_running_the_grant_twice(
    app, rp, refresh_token, monkeypatch
):
    """Redis failing as the token is spent: Flask's 503 (OAuth JSON), and the fast path
    did not hand Flask the request to run again (which would spend the token twice)."""
    runtime = app.extensions["idp.oidc"]
    spent: list[str] = []

    def down(token: str, *_args: Any) -> Any:
        spent.append(token)
        raise StoreUnavailableError()

    monkeypatch.setattr(runtime.artifacts, "rotate_refresh_token", down)
    live = refresh_token()
    response = Client(app).post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": live}, headers=rp.basic
    )
    assert response.status_code == 503 and response.mimetype == "application/json"
    assert response.json is not None and response.json["error"] == "temporarily_unavailable"
    assert spent == [live]


class TestBehindATlsProxy:
    @pytest.fixture
    def app(self, make_app):
        return make_app(issuer="https://idp.example.test", trusted_proxies=1)

    def test_client_credentials_through_the_proxy(self, token, service):
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "idp.example.test"}
        form = {"grant_type": "client_credentials"}
        request = {"headers": {**service.basic, **proxied}, "data": form}
        answer = token(request, base_url="http://10.0.0.5/")
        assert answer.status == 200 and not answer.via_flask
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
        assert answer.body is not None
        _header, claims = jose_parts(answer.body["access_token"])
        assert claims["iss"] == "https://idp.example.test"
        direct = token(
            {"headers": service.basic, "data": {"grant_type": "client_credentials"}},
            base_url="http://10.0.0.5/",
        )
        assert direct.via_flask and direct.body == HTTPS_REQUIRED
