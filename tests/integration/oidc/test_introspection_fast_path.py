"""POST /introspect answered in front of Flask (idp/oidc/fast_introspection.py) is the
Flask endpoint's answer, byte for byte.

Every request here is sent twice through the whole app: once as it comes, once with the
fast path forced to hand everything to Flask. The status line, every header (in order)
and the body must be the same; each case also says which way the fast path went, and
what the answer means (so that two equally broken answers cannot pass).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import Client

from idp.errors import StoreUnavailableError
from idp.oidc import fast_introspection
from idp.oidc.fast_introspection import FastIntrospection
from tests.integration.oidc.conftest import RegisteredClient, redeem

Request = dict[str, Any]


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str]
    via_flask: bool  # the fast path handed the request to Flask


def _layer(app: Any) -> FastIntrospection:
    layer = app.wsgi_app
    while not isinstance(layer, FastIntrospection):
        layer = layer.app if isinstance(layer, ProxyFix) else layer.wsgi_app
    return layer


@pytest.fixture
def introspect(app, monkeypatch) -> Callable[..., Answer]:
    """Send one request both ways, assert the same bytes, return what it means."""
    layer = _layer(app)
    flask_app = layer.wsgi_app
    flask_calls: list[str] = []

    def counting(environ: Any, start_response: Any) -> Any:
        flask_calls.append(environ["PATH_INFO"])
        return flask_app(environ, start_response)

    monkeypatch.setattr(layer, "wsgi_app", counting)

    def send(request: Request | Callable[[], Request], **options: Any) -> Answer:
        def kwargs() -> Request:
            made = request() if callable(request) else request
            return {"path": "/introspect", "method": "POST", **made, **options}

        flask_calls.clear()
        fast = Client(app).open(**kwargs())
        via_flask = bool(flask_calls)
        with monkeypatch.context() as forced:
            forced.setattr(fast_introspection, "_is_plain", lambda environ: False)
            slow = Client(app).open(**kwargs())
        assert flask_calls, "the forced run did not reach Flask"
        assert fast.status == slow.status
        assert fast.headers.to_wsgi_list() == slow.headers.to_wsgi_list()
        assert fast.data == slow.data
        body = fast.json if fast.mimetype == "application/json" else None
        return Answer(fast.status_code, body, dict(fast.headers), via_flask)

    return send


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def ask(rp: RegisteredClient, token: str, **form: str) -> Request:
    return {"headers": rp.basic, "data": {"token": token, **form}}


@pytest.fixture
def tokens(app, browser, rp) -> dict[str, str]:
    code, verifier = browser.code_for(rp, scope="openid profile offline_access")
    response = redeem(app.test_client(), rp, code, verifier)
    assert response.status_code == 200
    return dict(response.json)


NOT_ACTIVE = {"active": False}


# -- client authentication ------------------------------------------------------------
def test_an_active_access_token_with_basic_auth_is_answered_without_flask(introspect, rp, tokens):
    answer = introspect(ask(rp, tokens["access_token"]))
    assert answer.status == 200 and not answer.via_flask
    body = answer.body
    assert body is not None and body["active"] is True
    assert body["client_id"] == rp.client_id and body["token_type"] == "Bearer"
    assert {"sub", "aud", "jti", "exp", "iat", "iss", "scope", "acr", "amr"} <= set(body)
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Pragma"] == "no-cache"
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("hint", ["access_token", "refresh_token"])
def test_hints_do_not_change_the_answer(introspect, rp, tokens, hint):
    for token in (tokens["access_token"], tokens["refresh_token"]):
        answer = introspect(ask(rp, token, token_type_hint=hint))
        assert answer.body is not None and answer.body["active"] is True
        assert not answer.via_flask


def test_an_active_refresh_token(introspect, rp, tokens):
    answer = introspect(ask(rp, tokens["refresh_token"]))
    assert answer.body is not None and answer.body["active"] is True
    assert "token_type" not in answer.body and "sub" in answer.body


def test_client_secret_post_is_answered_without_flask(app, introspect, register, browser):
    rp = register(token_endpoint_auth_method="client_secret_post")
    code, verifier = browser.code_for(rp)
    response = app.test_client().post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier,
            "client_id": rp.client_id,
            "client_secret": rp.secret,
        },
    )
    token = response.json["access_token"]
    form = {"token": token, "client_id": rp.client_id, "client_secret": rp.secret}
    answer = introspect({"data": form})
    assert answer.body is not None and answer.body["active"] is True and not answer.via_flask
    wrong = introspect({"data": {**form, "client_secret": "wrong"}})
    assert wrong.status == 401 and wrong.body and wrong.body["error"] == "invalid_client"
    # its secret in a Basic header is not how it registered
    basic_try = introspect(
        {"headers": basic(rp.client_id, str(rp.secret)), "data": {"token": token}}
    )
    assert basic_try.status == 401


@pytest.mark.parametrize(
    "headers, form, status, description",
    [
        ({}, {}, 401, "The client cannot authenticate with methods"),
        ("wrong-secret", {}, 401, "The client cannot authenticate with methods"),
        ("unknown-client", {}, 401, "The client does not exist on this server."),
        ({"Authorization": "Basic " + base64.b64encode(b"only-an-id").decode()}, {}, 401, None),
        ({"Authorization": "Bearer abc"}, {}, 401, None),
        ({"Authorization": "Basic %%%"}, {}, 401, None),
        ({}, {"client_id": "no-such", "client_secret": "x"}, 400, "does not exist"),
        ({}, {"client_id": "no-such"}, 400, "does not exist"),
        ("form-secret", {}, 401, "The client cannot authenticate with methods"),
    ],
)
def test_failed_client_authentication(introspect, rp, tokens, headers, form, status, description):
    if headers == "wrong-secret":
        headers = basic(rp.client_id, "wrong-secret")
    elif headers == "unknown-client":
        headers = basic("no-such-client", "whatever")
    elif headers == "form-secret":  # a client_secret_basic client may not use the form
        headers, form = {}, {"client_id": rp.client_id, "client_secret": str(rp.secret)}
    answer = introspect({"headers": headers, "data": {"token": tokens["access_token"], **form}})
    assert answer.status == status and not answer.via_flask
    assert answer.body is not None and answer.body["error"] == "invalid_client"
    assert description is None or description in answer.body["error_description"]
    assert ("WWW-Authenticate" in answer.headers) == (status == 401)


def test_a_basic_header_authlib_cannot_decode_is_left_to_flask(introspect, tokens):
    header = "Basic " + base64.b64encode(b"\xff\xfe:secret").decode()
    answer = introspect({"headers": {"Authorization": header}, "data": {"token": "x"}})
    assert answer.via_flask and answer.status == 500  # as before: an error page


def test_parameter_errors(introspect, rp, tokens):
    missing = introspect({"headers": rp.basic, "data": {"token_type_hint": "access_token"}})
    assert missing.status == 400 and missing.body == {"error": "invalid_request"}
    bad_hint = introspect(ask(rp, tokens["access_token"], token_type_hint="id_token"))
    # Authlib's UnsupportedTokenTypeError is a 401 (RFC 7009 says 400): kept as it was
    assert bad_hint.status == 401 and bad_hint.body == {"error": "unsupported_token_type"}
    assert not missing.via_flask and not bad_hint.via_flask
    # the first of repeated parameters counts, as in request.form
    first_real = introspect({"headers": rp.basic, "data": {"token": [tokens["access_token"], "x"]}})
    assert first_real.body is not None and first_real.body["active"] is True
    first_bogus = introspect(
        {"headers": rp.basic, "data": {"token": ["x", tokens["access_token"]]}}
    )
    assert first_bogus.body == NOT_ACTIVE and not first_bogus.via_flask
    empty = introspect(ask(rp, ""))
    assert empty.body == NOT_ACTIVE
    # percent-escapes that are not UTF-8, '+' for space: decoded as Werkzeug decodes them
    for raw in (b"token=%ff%fe", b"token=a+b%20c&token_type_hint=", b"token&x=%zz"):
        odd = introspect(
            {"headers": rp.basic, "data": raw, "content_type": "application/x-www-form-urlencoded"}
        )
        assert odd.status in (200, 400) and not odd.via_flask, raw


# -- whose token, and which tokens ----------------------------------------------------
def test_another_confidential_client_may_introspect_a_token(introspect, register, tokens, rp):
    """Today's rule (IntrospectionEndpoint.check_permission): confidential clients are
    resource servers and may ask about any token; a public client only about its own."""
    resource_server = register()
    answer = introspect(ask(resource_server, tokens["access_token"]))
    assert answer.body is not None and answer.body["active"] is True
    assert answer.body["client_id"] == rp.client_id


def test_a_public_client_only_learns_about_its_own_tokens(
    app, introspect, register, browser, tokens
):
    public = register(token_endpoint_auth_method="none")
    code, verifier = browser.code_for(public)
    own = redeem(app.test_client(), public, code, verifier).json["access_token"]
    mine = introspect({"data": {"token": own, "client_id": public.client_id}})
    assert mine.body is not None and mine.body["active"] is True and not mine.via_flask
    theirs = introspect({"data": {"token": tokens["access_token"], "client_id": public.client_id}})
    assert theirs.body == NOT_ACTIVE
    with_secret = introspect(
        {"data": {"token": own, "client_id": public.client_id, "client_secret": "x"}}
    )
    assert with_secret.status == 401


def test_a_client_credentials_token(app, introspect, register):
    service = register(grant_types=["client_credentials"], redirect_uris=[], scopes=["api"])
    response = app.test_client().post(
        "/token", headers=service.basic, data={"grant_type": "client_credentials", "scope": "api"}
    )
    answer = introspect(ask(service, response.json["access_token"]))
    assert answer.body is not None and answer.body["active"] is True
    assert answer.body["sub"] == service.client_id and not answer.via_flask


@pytest.mark.parametrize("alg", ["RS256", "EdDSA", "SM2SM3"])
def test_access_tokens_of_every_signing_algorithm(app, introspect, register, alg):
    app.extensions["idp.keys"].ensure_keys([alg])  # as `idp client create` does
    service = register(
        grant_types=["client_credentials"],
        redirect_uris=[],
        scopes=["api"],
        access_token_signed_alg=alg,
    )
    response = app.test_client().post(
        "/token", headers=service.basic, data={"grant_type": "client_credentials", "scope": "api"}
    )
    token = response.json["access_token"]
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["alg"] == alg
    answer = introspect(ask(service, token))
    assert answer.body is not None and answer.body["active"] is True and not answer.via_flask


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_forged_and_malformed_tokens_are_not_active(app, introspect, rp, tokens):
    claims = json.loads(base64.urlsafe_b64decode(tokens["access_token"].split(".")[1] + "=="))
    jwks = app.test_client().get("/.well-known/jwks.json").json["keys"]
    rsa = next(k for k in jwks if k["alg"] == "RS256")
    header = b64({"alg": "HS256", "typ": "at+jwt", "kid": rsa["kid"]})
    signing_input = f"{header}.{b64(claims)}".encode()
    mac = hmac.new(json.dumps(rsa).encode(), signing_input, hashlib.sha256).digest()
    head, _payload, signature = tokens["access_token"].split(".")
    forged = {
        "alg none": f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{b64(claims)}.",
        "HS256 keyed with the public key": f"{signing_input.decode()}.{b64(mac)}",
        "changed payload": f"{head}.{b64({**claims, 'scope': 'openid admin'})}.{signature}",
        "not a JWT": "abc",
        "three dots": "a.b.c",
        "not ASCII": "é.é.é",
        "long garbage": "x" * 5000,
        "a refresh token's shape, unknown": secrets.token_urlsafe(32),
    }
    for name, token in forged.items():
        answer = introspect(ask(rp, token))
        assert answer.body == NOT_ACTIVE and not answer.via_flask, name


def test_tokens_signed_by_us_but_not_access_tokens_are_not_active(app, introspect, rp, tokens):
    keys = app.extensions["idp.keys"]
    claims = json.loads(base64.urlsafe_b64decode(tokens["access_token"].split(".")[1] + "=="))
    now = int(time.time())
    with app.app_context():
        signed = {
            "an ID token": tokens["id_token"],
            "expired": keys.sign({**claims, "exp": now - 1}, alg="ES256", typ="at+jwt"),
            "another issuer": keys.sign(
                {**claims, "iss": "https://evil.example"}, alg="ES256", typ="at+jwt"
            ),
            "no typ": keys.sign(claims, alg="ES256"),
        }
    for name, token in signed.items():
        assert introspect(ask(rp, token)).body == NOT_ACTIVE, name


def test_expiry_with_a_frozen_clock(introspect, rp, tokens, monkeypatch):
    token = tokens["access_token"]
    exp = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["exp"]
    monkeypatch.setattr(time, "time", lambda: exp - 0.5)
    assert introspect(ask(rp, token)).body["active"] is True
    monkeypatch.setattr(time, "time", lambda: float(exp))  # a token is dead at its exp
    answer = introspect(ask(rp, token))
    assert answer.body == NOT_ACTIVE and not answer.via_flask


def test_revoked_tokens_are_not_active(app, introspect, rp, tokens):
    revoke = app.test_client().post(
        "/revoke", headers=rp.basic, data={"token": tokens["access_token"]}
    )
    assert revoke.status_code == 200
    assert introspect(ask(rp, tokens["access_token"])).body == NOT_ACTIVE
    assert introspect(ask(rp, tokens["refresh_token"])).body["active"] is True
    app.test_client().post("/revoke", headers=rp.basic, data={"token": tokens["refresh_token"]})
    assert introspect(ask(rp, tokens["refresh_token"])).body == NOT_ACTIVE


def test_a_rotated_refresh_token_is_not_active_but_its_successor_is(app, introspect, rp, tokens):
    rotated = (
        app.test_client()
        .post(
            "/token",
            headers=rp.basic,
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        .json
    )
    assert introspect(ask(rp, tokens["refresh_token"])).body == NOT_ACTIVE
    assert introspect(ask(rp, rotated["refresh_token"])).body["active"] is True
    assert introspect(ask(rp, rotated["access_token"])).body["active"] is True


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

    def request() -> Request:  # a fresh assertion each time: each jti is accepted once
        now = int(time.time())
        claims = {
            "iss": resource_server.client_id,
            "sub": resource_server.client_id,
            "aud": "http://127.0.0.1:8000",
            "jti": secrets.token_urlsafe(8),
            "iat": now,
            "exp": now + 60,
        }
        assertion = jose_jwt.encode({"alg": "ES256", "kid": "rs-key-1"}, claims, key)
        return {
            "data": {
                "token": tokens["access_token"],
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            }
        }

    answer = introspect(request)
    assert answer.via_flask and answer.body is not None and answer.body["active"] is True


def test_cookies_and_languages_change_nothing(introspect, rp, tokens):
    headers = {
        **rp.basic,
        "Cookie": "idp_sid=stale; idp_state=garbage; idp_lang=en",
        "Accept-Language": "en",
    }
    answer = introspect({"headers": headers, "data": {"token": tokens["access_token"]}})
    assert answer.body is not None and answer.body["active"] is True and not answer.via_flask


def test_an_insecure_transport_is_refused_as_before(introspect, rp, tokens):
    """Authlib refuses a plain-http URL that is not loopback before anything else."""
    answer = introspect(ask(rp, tokens["access_token"]), base_url="http://idp.example.test/")
    assert answer.via_flask and answer.status == 500


def test_trusted_hosts_are_checked_as_flask_checks_them(app, introspect, rp, tokens, caplog):
    request = ask(rp, tokens["access_token"])
    assert not introspect(request).via_flask
    app.config["TRUSTED_HOSTS"] = ["localhost"]
    assert not introspect(request).via_flask
    # An untrusted host goes to Flask, which refuses it before any view runs (under
    # TESTING its error page then fails to build URLs, and that reaches the test).
    with pytest.raises(AttributeError):
        Client(app).open("/introspect", method="POST", base_url="http://127.0.0.1/", **request)
    assert "introspection left to Flask: SecurityError" in caplog.text


def test_redis_down_gets_flasks_error_page(app, introspect, rp, tokens, monkeypatch):
    runtime = app.extensions["idp.oidc"]

    def down(*_args: Any) -> Any:
        raise StoreUnavailableError()

    monkeypatch.setattr(runtime.artifacts, "access_token_state", down)
    answer = introspect(ask(rp, tokens["access_token"]))
    assert answer.via_flask and answer.status == 503


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
        assert direct.via_flask and direct.status == 500  # plain http, not loopback
