"""A client that must use commercial cryptography (国密): SM2SM3 ID tokens, access tokens
and signed userinfo, checked the way its RP would check them: with `gmssl` alone from the
published JWKS (examples/verify_sm2_id_token.py), and with our own verifier."""

from __future__ import annotations

import base64
import json

import pytest

from examples.verify_sm2_id_token import Refused, sm3_at_hash, verify_id_token, verify_sm2sm3
from tests.integration.oidc.conftest import redeem

SCOPE = "openid profile phone offline_access"
BYE = "https://rp.example.test/bye"


@pytest.fixture
def gm_rp(app, register):
    app.extensions["idp.keys"].ensure_keys(["SM2SM3"])  # as `idp client create` does
    return register(
        id_token_signed_response_alg="SM2SM3",
        access_token_signed_alg="SM2SM3",
        userinfo_signed_response_alg="SM2SM3",
        post_logout_redirect_uris=[BYE],
    )


def segments(token: str) -> tuple[dict, dict]:
    head, payload, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(head), decode(payload)


def jwks(app) -> dict:
    return app.test_client().get("/.well-known/jwks.json").json


def gmssl_verifies(app, token: str) -> bool:
    head, _ = segments(token)
    (key,) = [k for k in jwks(app)["keys"] if k["kid"] == head["kid"]]
    signing_input, _, signature = token.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    return verify_sm2sm3(key, signing_input.encode(), raw)


def test_discovery_advertises_sm2sm3_and_the_signer_id(app, gm_rp):
    doc = app.test_client().get("/.well-known/openid-configuration").json
    assert "SM2SM3" in doc["id_token_signing_alg_values_supported"]
    assert "SM2SM3" in doc["userinfo_signing_alg_values_supported"]
    assert doc["sm2_signer_id"] == "1234567812345678"
    sm2_keys = [k for k in jwks(app)["keys"] if k.get("crv") == "SM2"]
    # an active key and the next one, published before it signs
    assert len(sm2_keys) == 2
    assert all(k["kty"] == "EC" and k["alg"] == "SM2SM3" and "d" not in k for k in sm2_keys)


def test_an_sm2sm3_client_gets_tokens_its_rp_verifies_with_gmssl(app, browser, gm_rp):
    issuer = app.extensions["idp.settings"].issuer
    code, verifier = browser.code_for(gm_rp, scope=SCOPE)
    response = redeem(app.test_client(), gm_rp, code, verifier)
    assert response.status_code == 200, response.json
    tokens = response.json

    # The ID token: the RP's own check, gmssl alone, from the JWKS.
    claims = verify_id_token(
        tokens["id_token"], jwks(app), issuer=issuer, client_id=gm_rp.client_id, nonce="n-456"
    )
    assert segments(tokens["id_token"])[0]["alg"] == "SM2SM3"
    assert claims["at_hash"] == sm3_at_hash(tokens["access_token"])
    assert claims["acr"] == "urn:cn:gov:idp:loa:2" and claims["sid"]
    # ...and our own verifier agrees
    keys = app.extensions["idp.keys"]
    assert keys.verify(tokens["id_token"], algs=["SM2SM3"]) == claims

    # The access token: an RFC 9068 JWT signed SM2SM3, that introspection answers for.
    head, access = segments(tokens["access_token"])
    assert (head["alg"], head["typ"]) == ("SM2SM3", "at+jwt")
    assert gmssl_verifies(app, tokens["access_token"])
    assert access["sub"] == claims["sub"] and access["client_id"] == gm_rp.client_id
    answer = (
        app.test_client()
        .post("/introspect", headers=gm_rp.basic, data={"token": tokens["access_token"]})
        .json
    )
    assert answer["active"] is True and answer["sub"] == claims["sub"]

    # Userinfo as a signed JWT (OIDC Core 5.3.2): iss and aud added.
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = app.test_client().get("/userinfo", headers=bearer)
    assert info.status_code == 200 and info.mimetype == "application/jwt"
    assert info.headers["Cache-Control"] == "no-store"
    signed = info.get_data(as_text=True)
    assert gmssl_verifies(app, signed)
    head, body = segments(signed)
    assert head["alg"] == "SM2SM3"
    assert (body["iss"], body["aud"], body["sub"]) == (issuer, gm_rp.client_id, claims["sub"])
    assert body["phone_number"] == "+8617000000101"

    # Refresh: a new SM2SM3 ID token for the same person.
    refreshed = app.test_client().post(
        "/token",
        headers=gm_rp.basic,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.json
    again = verify_id_token(
        refreshed.json["id_token"], jwks(app), issuer=issuer, client_id=gm_rp.client_id
    )
    assert again["sub"] == claims["sub"] and again["auth_time"] == claims["auth_time"]

    # RP-initiated logout with the SM2SM3 ID token as the hint: no confirmation page.
    response = browser.client.get(
        "/end_session",
        query_string={
            "id_token_hint": refreshed.json["id_token"],
            "post_logout_redirect_uri": BYE,
            "state": "s-1",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"{BYE}?state=s-1"


def test_a_tampered_sm2sm3_token_is_refused_by_the_provider_and_by_gmssl(app, browser, gm_rp):
    code, verifier = browser.code_for(gm_rp, scope=SCOPE)
    tokens = redeem(app.test_client(), gm_rp, code, verifier).json
    head, _, signature = tokens["access_token"].split(".")
    _, claims = segments(tokens["access_token"])
    widened = {**claims, "scope": claims["scope"] + " idcard"}
    forged_payload = base64.urlsafe_b64encode(json.dumps(widened).encode()).rstrip(b"=")
    forged = f"{head}.{forged_payload.decode()}.{signature}"
    assert not gmssl_verifies(app, forged)
    info = app.test_client().get("/userinfo", headers={"Authorization": f"Bearer {forged}"})
    assert info.status_code == 401
    assert 'error="invalid_token"' in info.headers["WWW-Authenticate"]
    assert app.test_client().post(
        "/introspect", headers=gm_rp.basic, data={"token": forged}
    ).json == {"active": False}
    # the ID token: one flipped bit in the signature
    raw = bytearray(base64.urlsafe_b64decode(tokens["id_token"].split(".")[2] + "=="))
    raw[5] ^= 1
    flipped = (
        tokens["id_token"].rsplit(".", 1)[0]
        + "."
        + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    )
    issuer = app.extensions["idp.settings"].issuer
    with pytest.raises(Refused, match="bad signature"):
        verify_id_token(flipped, jwks(app), issuer=issuer, client_id=gm_rp.client_id)
    # an ID token presented with another access token than the one it came with
    with pytest.raises(Refused, match="at_hash"):
        verify_id_token(
            tokens["id_token"],
            jwks(app),
            issuer=issuer,
            client_id=gm_rp.client_id,
            access_token=forged,
        )


def test_clients_without_a_signed_userinfo_still_get_json(app, browser, register):
    rp = register()
    code, verifier = browser.code_for(rp, scope=SCOPE)
    tokens = redeem(app.test_client(), rp, code, verifier).json
    info = app.test_client().get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.mimetype == "application/json" and info.json["sub"]
