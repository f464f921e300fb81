"""POST /introspect (RFC 7662) and what it says about each kind of token: live ones
described, anything else, and anyone else's, `active: false` and nothing more."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

import pytest

from tests.integration.oidc.machine.conftest import (
    NOT_ACTIVE,
    ask,
    assert_always,
    claims_of,
    refresh,
)


def introspect(app, rp, token: str, **form: str) -> dict:
    response = app.test_client().post("/introspect", **ask(rp, token, **form))
    assert response.status_code == 200, response.json
    return dict(response.json)


def test_a_live_access_token_is_described(app, rp, tokens):
    response = app.test_client().post("/introspect", **ask(rp, tokens["access_token"]))
    body = response.json
    assert body["active"] is True and body["client_id"] == rp.client_id
    assert body["token_type"] == "Bearer"
    assert {"sub", "aud", "jti", "exp", "iat", "iss", "scope", "acr", "amr"} <= set(body)
    assert response.headers["Content-Type"] == "application/json"
    assert_always(response.headers)


def test_a_live_refresh_token_is_described_without_a_token_type(app, rp, tokens):
    body = introspect(app, rp, tokens["refresh_token"])
    assert body["active"] is True and "token_type" not in body and "sub" in body


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "id_token", "urn:x:unknown"])
def test_a_hint_only_orders_the_search(app, rp, tokens, hint):
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert introspect(app, rp, token, token_type_hint=hint)["active"] is True


def test_a_missing_token_is_invalid_request_and_an_empty_one_not_active(app, rp):
    missing = app.test_client().post(
        "/introspect", headers=rp.basic, data={"token_type_hint": "access_token"}
    )
    assert missing.status_code == 400 and missing.json == {"error": "invalid_request"}
    assert introspect(app, rp, "") == NOT_ACTIVE


def test_another_confidential_client_learns_nothing(app, register, tokens):
    """RFC 7662 2.2 and 4: to a client that is neither the token's own nor a resource
    server it names, a live token looks like no token at all."""
    other = register(grant_types=["client_credentials"], redirect_uris=[])
    for kind in ("access_token", "refresh_token"):
        assert introspect(app, other, tokens[kind]) == NOT_ACTIVE, kind


@pytest.mark.parametrize("alg", ["RS256", "EdDSA", "SM2SM3"])
def test_access_tokens_of_every_signing_algorithm(app, register, alg):
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
    assert introspect(app, service, token)["active"] is True


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_forged_and_malformed_tokens_are_not_active(app, rp, tokens):
    claims = claims_of(tokens["access_token"])
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
        assert introspect(app, rp, token) == NOT_ACTIVE, name


def test_tokens_signed_by_us_but_not_live_access_tokens_are_not_active(app, rp, tokens):
    keys = app.extensions["idp.keys"]
    claims = claims_of(tokens["access_token"])
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
        assert introspect(app, rp, token) == NOT_ACTIVE, name


def test_a_token_is_dead_at_its_exp(app, rp, tokens, monkeypatch):
    token = tokens["access_token"]
    exp = claims_of(token)["exp"]
    monkeypatch.setattr(time, "time", lambda: exp - 0.5)
    assert introspect(app, rp, token)["active"] is True
    monkeypatch.setattr(time, "time", lambda: float(exp))
    assert introspect(app, rp, token) == NOT_ACTIVE


def test_revoked_tokens_are_not_active(app, rp, tokens):
    client = app.test_client()
    assert client.post("/revoke", **ask(rp, tokens["access_token"])).status_code == 200
    assert introspect(app, rp, tokens["access_token"]) == NOT_ACTIVE
    assert introspect(app, rp, tokens["refresh_token"])["active"] is True
    client.post("/revoke", **ask(rp, tokens["refresh_token"]))
    assert introspect(app, rp, tokens["refresh_token"]) == NOT_ACTIVE


def test_a_rotated_refresh_token_is_not_active_but_its_successor_is(app, rp, tokens):
    rotated = app.test_client().post("/token", **refresh(rp, tokens["refresh_token"])).json
    assert introspect(app, rp, tokens["refresh_token"]) == NOT_ACTIVE
    assert introspect(app, rp, rotated["refresh_token"])["active"] is True
    assert introspect(app, rp, rotated["access_token"])["active"] is True
