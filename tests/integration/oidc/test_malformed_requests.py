"""The token, introspection and revocation endpoints from the attacker's side, with input
they cannot use: each case asserts the exact OAuth answer (never an error page) and that
nothing changed."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from idp.audit.models import AuditEvent
from idp.db import db
from tests.integration.oidc.conftest import redeem

ENDPOINTS = {
    "/token": {"grant_type": "client_credentials"},
    "/introspect": {"token": "x"},
    "/revoke": {"token": "x"},
}
NOT_UTF8 = {
    "id and secret": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
    "secret only": "Basic " + base64.b64encode(b"rp:\xc3\x28").decode(),
    "no colon": "Basic " + base64.b64encode(b"\xff").decode(),
    "header not ASCII": "Basic \u00e9t\u00e9",
}
INSECURE = "http://idp.example.gov.cn/"  # plain http to a host that is not loopback
HTTPS_REQUIRED = {"error": "invalid_request", "error_description": "OAuth 2 MUST utilize https."}


@pytest.fixture
def tokens(app, browser, rp) -> dict[str, str]:
    code, verifier = browser.code_for(rp, scope="openid offline_access")
    return dict(redeem(app.test_client(), rp, code, verifier).json)


def introspect(app, rp, token: str) -> dict:
    return app.test_client().post("/introspect", headers=rp.basic, data={"token": token}).json


def audit_events(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


# -- a Basic header whose credentials are not text ---------------------------------------
@pytest.mark.parametrize("path", list(ENDPOINTS))
@pytest.mark.parametrize("header", list(NOT_UTF8.values()), ids=list(NOT_UTF8))
def test_undecodable_basic_credentials_are_invalid_client(app, path, header, caplog):
    client = app.test_client()
    response = client.post(path, headers={"Authorization": header}, data=ENDPOINTS[path])
    # the answer to a Basic header that is not even base64
    reference = client.post(path, headers={"Authorization": "Basic !!!"}, data=ENDPOINTS[path])
    assert response.status_code == 401 and response.json["error"] == "invalid_client"
    assert response.json == reference.json
    assert response.headers["WWW-Authenticate"] == reference.headers["WWW-Authenticate"]
    assert response.headers["WWW-Authenticate"].startswith('Basic error="invalid_client"')
    assert response.headers["Cache-Control"] == "no-store"
    assert "unhandled error" not in caplog.text


def test_undecodable_basic_credentials_change_nothing(app, rp, tokens):
    header = {"Authorization": NOT_UTF8["id and secret"]}
    before = audit_events(app)
    client = app.test_client()
    revoke = client.post("/revoke", headers=header, data={"token": tokens["access_token"]})
    refresh = client.post(
        "/token",
        headers=header,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert revoke.status_code == refresh.status_code == 401
    assert audit_events(app) == before
    assert introspect(app, rp, tokens["access_token"])["active"] is True
    assert introspect(app, rp, tokens["refresh_token"])["active"] is True  # not rotated


# -- token_type_hint is only a hint (RFC 7662 2.1, RFC 7009 2.1) --------------------------
@pytest.mark.parametrize("hint", ["id_token", "urn:example:unknown", "ACCESS_TOKEN"])
def test_an_unknown_hint_does_not_stop_introspection(app, rp, tokens, hint):
    client = app.test_client()
    for kind in ("access_token", "refresh_token"):
        form = {"token": tokens[kind], "token_type_hint": hint}
        response = client.post("/introspect", headers=rp.basic, data=form)
        assert response.status_code == 200, kind
        assert response.json["active"] is True and response.json["client_id"] == rp.client_id
    unknown = client.post(
        "/introspect", headers=rp.basic, data={"token": "x", "token_type_hint": hint}
    )
    assert unknown.status_code == 200 and unknown.json == {"active": False}


@pytest.mark.parametrize(
    "kind, other_kind", [("access_token", "refresh_token"), ("refresh_token", "access_token")]
)
def test_revocation_searches_every_kind_whatever_the_hint(app, browser, rp, kind, other_kind):
    for hint in ("id_token", "urn:example:unknown", other_kind):
        code, verifier = browser.code_for(rp, scope="openid offline_access")
        tokens = redeem(app.test_client(), rp, code, verifier).json
        before = audit_events(app)
        response = app.test_client().post(
            "/revoke", headers=rp.basic, data={"token": tokens[kind], "token_type_hint": hint}
        )
        assert response.status_code == 200 and response.json == {}, hint
        assert introspect(app, rp, tokens[kind]) == {"active": False}, hint
        assert audit_events(app) == before + 1, hint


def test_an_unknown_hint_with_an_unknown_token_is_still_200(app, rp):
    response = app.test_client().post(
        "/revoke", headers=rp.basic, data={"token": "no-such-token", "token_type_hint": "id_token"}
    )
    assert response.status_code == 200 and response.json == {}


# -- plain http to a host that is not loopback ---------------------------------------------
@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_plain_http_is_invalid_request(app, register, path, caplog):
    service = register(grant_types=["client_credentials"], redirect_uris=[], scopes=["api"])
    response = app.test_client().post(
        path, headers=service.basic, data=ENDPOINTS[path], base_url=INSECURE
    )
    assert response.status_code == 400 and response.json == HTTPS_REQUIRED
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert "WWW-Authenticate" not in response.headers
    assert "unhandled error" not in caplog.text
    # an operator whose proxy drops X-Forwarded-Proto finds the reason in the log
    assert "plain http to" in caplog.text and "need https" in caplog.text


def test_plain_http_changes_nothing(app, rp, tokens):
    before = audit_events(app)
    client = app.test_client()
    revoke = client.post(
        "/revoke", headers=rp.basic, data={"token": tokens["access_token"]}, base_url=INSECURE
    )
    refresh = client.post(
        "/token",
        headers=rp.basic,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        base_url=INSECURE,
    )
    assert revoke.json == refresh.json == HTTPS_REQUIRED
    assert audit_events(app) == before
    assert introspect(app, rp, tokens["access_token"])["active"] is True
    assert introspect(app, rp, tokens["refresh_token"])["active"] is True  # not rotated


# -- whatever fails, the answer is OAuth JSON -------------------------------------------
@pytest.mark.parametrize("path", [*ENDPOINTS, "/userinfo"])
def test_an_unexpected_failure_is_a_server_error_in_json(app, rp, path, monkeypatch, caplog):
    runtime = app.extensions["idp.oidc"]

    def bug(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(runtime.clients, "get", bug)  # every endpoint looks its client up
    monkeypatch.setattr(runtime.tokens, "check_access_token", bug)
    headers = {"Authorization": "Bearer x"} if path == "/userinfo" else rp.basic
    response = app.test_client().post(path, headers=headers, data=ENDPOINTS.get(path, {}))
    assert response.status_code == 500
    assert response.json == {
        "error": "server_error",
        "error_description": "an unexpected error occurred",
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert "unhandled error" in caplog.text  # logged for the operator, not shown


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_get_is_a_405_in_json_with_allow(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 405
    assert response.json == {
        "error": "invalid_request",
        "error_description": "GET is not allowed here",
    }
    assert "POST" in response.headers["Allow"]


def test_pages_keep_their_html_error_pages(app):
    assert app.test_client().get("/no-such-page").mimetype == "text/html"
    response = app.test_client().put("/login")
    assert response.status_code == 405 and response.mimetype == "text/html"
    assert "GET" in response.headers["Allow"]
