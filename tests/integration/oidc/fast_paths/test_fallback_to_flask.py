"""The requests the fast introspection path leaves to Flask get Flask's answer, and the
fast path behind a TLS proxy answers as Flask does (sent both ways, compared byte for
byte, as in test_fast_path.py)."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc.jwk import ECKey
from werkzeug.test import Client

from idp.errors import StoreUnavailableError
from tests.integration.oidc.fast_paths.support import (
    HTTPS_REQUIRED,
    Request,
    ask,
    assertion_form,
)


# -- what the fast path leaves to Flask ------------------------------------------------
def test_unusual_requests_go_to_flask_and_get_its_answer(introspect, rp, tokens):
    token = tokens["access_token"]
    form = f"token={token}".encode()
    unusual: dict[str, Request] = {
        "a query string": {"headers": rp.basic, "data": {"token": token}, "query_string": "x=1"},
        "client_id in the query": {
            "data": {"token": token},
            "query_string": {"client_id": rp.client_id},
        },
        "JSON": {"headers": rp.basic, "json": {"token": token}},
        "multipart": {
            "headers": rp.basic,
            "data": {"token": token},
            "content_type": "multipart/form-data",
        },
        "not UTF-8": {
            "headers": rp.basic,
            "data": form + b"&x=\xff",
            "content_type": "application/x-www-form-urlencoded",
        },
        "too big": {"headers": rp.basic, "data": {"token": token, "pad": "x" * 20_000}},
        "GET": {"method": "GET", "headers": rp.basic, "query_string": {"token": token}},
        "OPTIONS": {"method": "OPTIONS"},
    }
    for name, request in unusual.items():
        assert introspect(request).via_flask, name


def test_the_form_content_type_may_carry_parameters(introspect, rp, tokens):
    body = f"token={tokens['access_token']}".encode()
    for content_type in (
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-Urlencoded",
    ):
        answer = introspect({"headers": rp.basic, "data": body, "content_type": content_type})
        assert answer.body is not None and answer.body["active"] is True, content_type
        assert not answer.via_flask


def test_private_key_jwt_goes_to_flask(introspect, register, tokens):
    key = ECKey.generate_key("P-256")
    public_key = {**key.as_dict(private=False), "kid": "rs-key-1", "alg": "ES256"}
    resource_server = register(
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [public_key]},
    )

    def request() -> Request:
        form = assertion_form(resource_server.client_id, key, "rs-key-1")
        return {"data": {"token": tokens["access_token"], **form}}

    answer = introspect(request)
    # Authenticated (a failure would be 401 invalid_client), and told nothing of a token
    # that is not its own
    assert answer.via_flask and answer.status == 200 and answer.body == {"active": False}


def test_cookies_and_languages_change_nothing(introspect, rp, tokens):
    headers = {
        **rp.basic,
        "Cookie": "idp_sid=stale; idp_state=garbage; idp_lang=en",
        "Accept-Language": "en",
    }
    answer = introspect({"headers": headers, "data": {"token": tokens["access_token"]}})
    assert answer.body is not None and answer.body["active"] is True and not answer.via_flask


def test_an_insecure_transport_is_an_invalid_request(introspect, rp, tokens):
    """Authlib refuses a plain-http URL that is not loopback before anything else; the
    Flask view answers that as an OAuth error."""
    answer = introspect(ask(rp, tokens["access_token"]), base_url="http://idp.example.test/")
    assert answer.via_flask and answer.status == 400
    assert answer.body == HTTPS_REQUIRED


def test_trusted_hosts_are_checked_as_flask_checks_them(app, introspect, rp, tokens, caplog):
    request = ask(rp, tokens["access_token"])
    assert not introspect(request).via_flask
    app.config["TRUSTED_HOSTS"] = ["localhost"]
    assert not introspect(request).via_flask
    # An untrusted host goes to Flask, which refuses it before any view runs (under
    # TESTING its error page then fails to build URLs, and that reaches the test).
    with pytest.raises(AttributeError):
        Client(app).open("/introspect", method="POST", base_url="http://127.0.0.1/", **request)
    assert "fast path: SecurityError left to Flask" in caplog.text


def test_redis_down_gets_flasks_oauth_error(app, introspect, rp, tokens, monkeypatch):
    runtime = app.extensions["idp.oidc"]

    def down(*_args: Any) -> Any:
        raise StoreUnavailableError()

    monkeypatch.setattr(runtime.artifacts, "access_token_state", down)
    answer = introspect(ask(rp, tokens["access_token"]))
    assert answer.via_flask and answer.status == 503
    assert answer.body is not None and answer.body["error"] == "temporarily_unavailable"
    assert answer.headers["Retry-After"] == "30"


# -- deployment: an https issuer behind a TLS proxy --------------------------------------
class TestBehindATlsProxy:
    """ProxyFix stands in front of the fast path, so it sees the client's scheme and host;
    the answers carry HSTS like every other answer of an https provider."""

    @pytest.fixture
    def app(self, make_app):
        return make_app(issuer="https://idp.example.test", trusted_proxies=1)

    def test_introspection_through_the_proxy(self, app, introspect, register):
        service = register(grant_types=["client_credentials"], redirect_uris=[], scopes=["api"])
        response = app.test_client().post(
            "/token", headers=service.basic, data={"grant_type": "client_credentials"}
        )
        token = response.json["access_token"]
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "idp.example.test"}
        answer = introspect(
            {"headers": {**service.basic, **proxied}, "data": {"token": token}},
            base_url="http://10.0.0.5/",
        )
        assert answer.body is not None and answer.body["active"] is True
        assert not answer.via_flask
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
        direct = introspect(ask(service, token), base_url="http://10.0.0.5/")
        assert direct.via_flask and direct.body == HTTPS_REQUIRED  # plain http, not loopback
