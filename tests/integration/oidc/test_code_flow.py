"""The authorization code flow end to end through the provider's own endpoints."""

from __future__ import annotations

import time

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.integration.oidc.conftest import pkce, query_of, redeem


def verify(app, token: str) -> dict:
    keys = KeySet.import_key_set(app.test_client().get("/.well-known/jwks.json").json)
    return jwt.decode(token, keys).claims


def test_discovery_is_truthful(app):
    doc = app.test_client().get("/.well-known/openid-configuration").json
    assert doc["issuer"] == app.extensions["idp.settings"].issuer
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert "offline_access" in doc["scopes_supported"]
    jwks = app.test_client().get(doc["jwks_uri"].replace(doc["issuer"], "")).json
    assert {k["alg"] for k in jwks["keys"]} >= {"RS256", "ES256"}
    assert all("d" not in k for k in jwks["keys"])


def test_code_flow_tokens_userinfo_refresh(app, browser, rp):
    code, verifier = browser.code_for(rp, scope="openid profile phone offline_access")
    response = redeem(app.test_client(), rp, code, verifier)
    assert response.status_code == 200, response.json
    tokens = response.json
    assert response.headers["Cache-Control"] == "no-store"
    id_token = verify(app, tokens["id_token"])
    assert id_token["aud"] == rp.client_id and id_token["nonce"] == "n-456"
    assert id_token["acr"] == "urn:cn:gov:idp:loa:2" and id_token["amr"] == ["pwd"]
    assert {"auth_time", "sid", "at_hash"} <= set(id_token)
    access = verify(app, tokens["access_token"])
    assert access["sub"] == id_token["sub"] and access["client_id"] == rp.client_id

    info = app.test_client().get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.status_code == 200
    assert info.json["sub"] == id_token["sub"]
    assert info.json["phone_number"] == "+8617000000101"
    assert info.json["preferred_username"] == "alice"

    refreshed = app.test_client().post(
        "/token",
        headers=rp.basic,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.json
    assert refreshed.json["refresh_token"] != tokens["refresh_token"]
    assert verify(app, refreshed.json["id_token"])["sub"] == id_token["sub"]


def test_iss_and_state_in_the_authorization_response(browser, rp):
    _, challenge = pkce()
    response = browser.authorize(rp, code_challenge=challenge, code_challenge_method="S256")
    q = query_of(response.headers["Location"])
    assert q["state"] == "st-123" and q["iss"] == "http://127.0.0.1:8000"


def test_consent_is_remembered_and_deny_returns_access_denied(browser, rp):
    browser.sign_in()
    _, challenge = pkce()
    denied = browser.authorize(
        rp, consent="deny", code_challenge=challenge, code_challenge_method="S256"
    )
    assert query_of(denied.headers["Location"])["error"] == "access_denied"
    browser.code_for(rp)  # allow once...
    again = browser.open_authorize(
        rp, scope="openid", code_challenge=challenge, code_challenge_method="S256"
    )
    assert "code" in query_of(again.headers["Location"])  # ...no page the second time


def test_pairwise_subjects_differ_between_sectors_and_stay_stable(app, browser, register):
    a = register(redirect_uris=["https://a.example.test/cb"])
    b = register(redirect_uris=["https://b.example.test/cb"])
    subs = []
    for rp in (a, b, a):
        code, verifier = browser.code_for(rp)
        subs.append(
            verify(app, redeem(app.test_client(), rp, code, verifier).json["id_token"])["sub"]
        )
    assert subs[0] != subs[1] and subs[0] == subs[2]


def test_public_subject_type(app, browser, register, person):
    rp = register(subject_type="public")
    code, verifier = browser.code_for(rp)
    assert (
        verify(app, redeem(app.test_client(), rp, code, verifier).json["id_token"])["sub"]
        == person["id"]
    )


def test_prompt_login_and_max_age_zero_give_a_fresh_auth_time(app, browser, rp):
    code, verifier = browser.code_for(rp)
    first = verify(app, redeem(app.test_client(), rp, code, verifier).json["id_token"])
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        time.sleep(1.1)  # auth_time has whole seconds
        code, verifier = browser.code_for(rp, **extra)
        again = verify(app, redeem(app.test_client(), rp, code, verifier).json["id_token"])
        assert again["auth_time"] > first["auth_time"], extra
        first = again


def test_client_credentials(app, register):
    rp = register(grant_types=["client_credentials"], redirect_uris=[], scopes=["profile"])
    response = app.test_client().post(
        "/token", headers=rp.basic, data={"grant_type": "client_credentials"}
    )
    assert response.status_code == 200, response.json
    claims = verify(app, response.json["access_token"])
    assert claims["sub"] == rp.client_id and "refresh_token" not in response.json


def test_a_person_no_longer_active_cannot_refresh_or_read_userinfo(app, browser, rp, person):
    from sqlalchemy import update

    from idp.accounts.models import Person
    from idp.db import db

    code, verifier = browser.code_for(rp, scope="openid profile phone offline_access")
    tokens = redeem(app.test_client(), rp, code, verifier).json
    with app.app_context(), db.transaction() as session:
        session.execute(update(Person).where(Person.id == person["id"]).values(status="suspended"))
    refreshed = app.test_client().post(
        "/token",
        headers=rp.basic,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 400 and refreshed.json["error"] == "invalid_grant"
    info = app.test_client().get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.status_code == 401
