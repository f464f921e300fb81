"""POST /introspect answered in front of Flask (idp/oidc/fast_paths.py) is the
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

import pytest

from tests.integration.oidc.conftest import redeem
from tests.integration.oidc.fast_paths.support import (
    NOT_ACTIVE,
    ask,
    basic,
)

NOT_UTF8 = "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()


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


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "id_token", "urn:x:unknown"])
def test_hints_do_not_change_the_answer(introspect, rp, tokens, hint):
    """A hint only orders the search (RFC 7662 2.1): one we do not know is ignored."""
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
        # credentials that are not UTF-8, or a header that is not ASCII: none at all
        ({"Authorization": NOT_UTF8}, {}, 401, "The client cannot authenticate with methods"),
        ({"Authorization": "Basic \u00e9t\u00e9"}, {}, 401, "cannot authenticate with methods"),
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


def test_parameter_errors(introspect, rp, tokens):
    missing = introspect({"headers": rp.basic, "data": {"token_type_hint": "access_token"}})
    assert missing.status == 400 and missing.body == {"error": "invalid_request"}
    assert not missing.via_flask
    unknown_hint = introspect(ask(rp, "x", token_type_hint="id_token"))  # not an error
    assert unknown_hint.status == 200 and unknown_hint.body == NOT_ACTIVE
    assert not unknown_hint.via_flask
    # a repeated parameter is refused whichever copy is the real one (RFC 6749 3.2)
    twice = {"error": "invalid_request", "error_description": "parameter token sent more than once"}
    for values in ([tokens["access_token"], "x"], ["x", tokens["access_token"]]):
        repeated = introspect({"headers": rp.basic, "data": {"token": values}})
        assert repeated.status == 400 and repeated.body == twice
        assert not repeated.via_flask
    empty = introspect(ask(rp, ""))
    assert empty.body == NOT_ACTIVE
    # percent-escapes that are not UTF-8, '+' for space: decoded as Werkzeug decodes them
    for raw in (b"token=%ff%fe", b"token=a+b%20c&token_type_hint=", b"token&x=%zz"):
        odd = introspect(
            {"headers": rp.basic, "data": raw, "content_type": "application/x-www-form-urlencoded"}
        )
        assert odd.status in (200, 400) and not odd.via_flask, raw


# -- whose token, and which tokens ----------------------------------------------------
def test_another_confidential_client_learns_nothing_of_a_token(introspect, register, tokens):
    """RFC 7662 2.2 and 4 (IntrospectionEndpoint.check_permission): only the token's own
    client, or a resource server the token names as its audience, learns about it; to any
    other client a live token looks like no token at all, on both paths."""
    other = register(grant_types=["client_credentials"], redirect_uris=[])
    for kind in ("access_token", "refresh_token"):
        answer = introspect(ask(other, tokens[kind]))
        assert answer.status == 200 and answer.body == {"active": False}, kind


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
