"""The OpenID provider from the attacker's side: each case asserts the exact response."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.integration.oidc.conftest import REDIRECT, pkce, query_of, redeem


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def authorize_params(rp, **extra) -> dict:
    _, challenge = pkce()
    return {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


def introspect(app, rp, token: str) -> dict:
    return app.test_client().post("/introspect", headers=rp.basic, data={"token": token}).json


@pytest.mark.parametrize(
    "bad",
    [
        REDIRECT + "/",
        REDIRECT[:-1],
        REDIRECT + "x",
        REDIRECT.replace("https", "http"),
        REDIRECT + "?x=1",
        "https://evil.example.test/callback",
    ],
)
def test_redirect_uri_not_exactly_registered_shows_a_page_and_never_redirects(browser, rp, bad):
    browser.sign_in()
    response = browser.client.get("/authorize", query_string=authorize_params(rp, redirect_uri=bad))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "无法完成该请求" in response.get_data(as_text=True)


def test_unknown_client_never_redirects(browser, rp):
    response = browser.client.get(
        "/authorize", query_string=authorize_params(rp, client_id="no-such-client")
    )
    assert response.status_code == 400 and "Location" not in response.headers


def test_public_client_without_pkce_gets_invalid_request(browser, register):
    public = register(token_endpoint_auth_method="none")
    params = authorize_params(public)
    del params["code_challenge"], params["code_challenge_method"]
    response = browser.client.get("/authorize", query_string=params)
    q = query_of(response.headers["Location"])
    assert q["error"] == "invalid_request" and q["state"] == "st" and "iss" in q


@pytest.mark.parametrize("method", ["plain", None])
def test_pkce_methods_other_than_s256_are_refused(browser, rp, method):
    params = authorize_params(rp)
    params["code_challenge"] = "a" * 43
    if method:
        params["code_challenge_method"] = method
    else:
        del params["code_challenge_method"]
    q = query_of(browser.client.get("/authorize", query_string=params).headers["Location"])
    assert q["error"] == "invalid_request"


def test_wrong_verifier_is_invalid_grant(app, browser, rp):
    code, _ = browser.code_for(rp)
    response = redeem(app.test_client(), rp, code, pkce()[0])
    assert response.status_code == 400 and response.json["error"] == "invalid_grant"


def test_confidential_client_that_sent_pkce_must_send_the_verifier(app, browser, rp):
    code, _ = browser.code_for(rp)
    response = redeem(app.test_client(), rp, code, None)
    assert response.status_code == 400 and response.json["error"] == "invalid_request"


def test_code_used_twice_is_refused_and_revokes_the_first_tokens(app, browser, rp):
    code, verifier = browser.code_for(rp, scope="openid offline_access")
    first = redeem(app.test_client(), rp, code, verifier)
    assert first.status_code == 200
    assert introspect(app, rp, first.json["access_token"])["active"] is True
    second = redeem(app.test_client(), rp, code, verifier)
    assert second.status_code == 400 and second.json["error"] == "invalid_grant"
    assert introspect(app, rp, first.json["access_token"]) == {"active": False}
    assert introspect(app, rp, first.json["refresh_token"]) == {"active": False}


def test_code_from_another_client_is_invalid_grant(app, browser, rp, register):
    other = register()
    code, verifier = browser.code_for(rp)
    response = redeem(app.test_client(), other, code, verifier, redirect_uri=rp.redirect_uri)
    assert response.status_code == 400 and response.json["error"] == "invalid_grant"


def test_code_with_another_redirect_uri_is_invalid_grant(app, browser, register):
    rp = register(redirect_uris=[REDIRECT, "https://rp.example.test/other"])
    code, verifier = browser.code_for(rp)
    response = redeem(
        app.test_client(), rp, code, verifier, redirect_uri="https://rp.example.test/other"
    )
    assert response.status_code == 400 and response.json["error"] == "invalid_grant"


def test_expired_code_is_invalid_grant(app, browser, rp, monkeypatch):
    code, verifier = browser.code_for(rp)
    import idp.oidc.grants.authorization_code as grant_module

    later = time.time() + 61  # the code lives 60 s
    monkeypatch.setattr(grant_module.time, "time", lambda: later)
    response = redeem(app.test_client(), rp, code, verifier)
    assert response.status_code == 400 and response.json["error"] == "invalid_grant"


def refresh(app, rp, token: str, **extra) -> object:
    return app.test_client().post(
        "/token",
        headers=rp.basic,
        data={"grant_type": "refresh_token", "refresh_token": token, **extra},
    )


def test_refresh_reuse_after_rotation_revokes_the_family(app, browser, rp):
    code, verifier = browser.code_for(rp, scope="openid offline_access")
    tokens = redeem(app.test_client(), rp, code, verifier).json
    rotated = refresh(app, rp, tokens["refresh_token"]).json
    assert "refresh_token" in rotated
    replay = refresh(app, rp, tokens["refresh_token"])  # the stolen old one
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"
    assert refresh(app, rp, rotated["refresh_token"]).json["error"] == "invalid_grant"
    assert introspect(app, rp, rotated["access_token"]) == {"active": False}


def test_refresh_asking_for_wider_scope_is_invalid_scope(app, browser, rp):
    code, verifier = browser.code_for(rp, scope="openid offline_access")
    tokens = redeem(app.test_client(), rp, code, verifier).json
    response = refresh(app, rp, tokens["refresh_token"], scope="openid offline_access phone")
    assert response.status_code == 400 and response.json["error"] == "invalid_scope"


def test_refresh_token_of_another_client_is_invalid_grant(app, browser, rp, register):
    other = register()
    code, verifier = browser.code_for(rp, scope="openid offline_access")
    tokens = redeem(app.test_client(), rp, code, verifier).json
    assert refresh(app, other, tokens["refresh_token"]).json["error"] == "invalid_grant"


def test_no_refresh_token_without_offline_access(app, browser, rp):
    code, verifier = browser.code_for(rp, scope="openid profile")
    assert "refresh_token" not in redeem(app.test_client(), rp, code, verifier).json


def test_a_service_cannot_give_itself_scopes_it_was_not_registered_for(app, register):
    """A resource server trusting `scope` would otherwise take this token for an admin's."""
    service = register(grant_types=["client_credentials"], redirect_uris=[], scopes=["api"])
    for asked in ("admin", "api admin", "openid api"):
        response = app.test_client().post(
            "/token",
            headers=service.basic,
            data={"grant_type": "client_credentials", "scope": asked},
        )
        assert response.status_code == 400, asked
        assert response.json["error"] == "invalid_scope" and "access_token" not in response.json
    granted = app.test_client().post(
        "/token", headers=service.basic, data={"grant_type": "client_credentials", "scope": "api"}
    )
    assert granted.status_code == 200 and granted.json["scope"] == "api"


def test_bad_client_secret_is_401_invalid_client(app, rp):
    bad = base64.b64encode(f"{rp.client_id}:wrong-secret".encode()).decode()
    response = app.test_client().post(
        "/token",
        headers={"Authorization": f"Basic {bad}"},
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": rp.redirect_uri},
    )
    assert response.status_code == 401 and response.json["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def forged_tokens(app, rp, claims: dict) -> dict[str, str]:
    """alg:none, and HS256 keyed with the RSA public key's JSON (the confusion attack)."""
    import hashlib
    import hmac

    jwks = app.test_client().get("/.well-known/jwks.json").json["keys"]
    rsa = next(k for k in jwks if k["alg"] == "RS256")
    none = f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{b64(claims)}."
    header = b64({"alg": "HS256", "typ": "at+jwt", "kid": rsa["kid"]})
    signing_input = f"{header}.{b64(claims)}".encode()
    secret = json.dumps(rsa).encode()
    mac = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return {"none": none, "hs256": f"{signing_input.decode()}.{b64(mac)}"}


def test_forged_tokens_are_refused_everywhere(app, browser, rp):
    code, verifier = browser.code_for(rp, scope="openid profile")
    real = redeem(app.test_client(), rp, code, verifier).json
    payload = json.loads(base64.urlsafe_b64decode(real["access_token"].split(".")[1] + "=="))
    for name, token in forged_tokens(app, rp, payload).items():
        info = app.test_client().get("/userinfo", headers={"Authorization": f"Bearer {token}"})
        assert info.status_code == 401 and info.json["error"] == "invalid_token", name
        assert introspect(app, rp, token) == {"active": False}, name
        logout = browser.client.get("/end_session", query_string={"id_token_hint": token})
        assert logout.status_code == 400, name


def test_prompt_none_without_session_is_login_required_with_state_and_iss(app, rp):
    response = app.test_client().get("/authorize", query_string=authorize_params(rp, prompt="none"))
    q = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith(REDIRECT)
    assert q == {
        "error": "login_required",
        "error_description": q["error_description"],
        "state": "st",
        "iss": "http://127.0.0.1:8000",
    }


def test_prompt_none_without_consent_is_consent_required(browser, rp):
    browser.sign_in()
    q = query_of(
        browser.client.get("/authorize", query_string=authorize_params(rp, prompt="none")).headers[
            "Location"
        ]
    )
    assert q["error"] == "consent_required"


def test_implicit_and_password_grants_are_refused(app, browser, rp):
    q = query_of(
        browser.client.get(
            "/authorize", query_string=authorize_params(rp, response_type="token")
        ).headers["Location"]
    )
    assert q["error"] == "unsupported_response_type"
    response = app.test_client().post(
        "/token",
        headers=rp.basic,
        data={"grant_type": "password", "username": "alice", "password": "x"},
    )
    assert response.status_code == 400 and response.json["error"] == "unsupported_grant_type"


def test_acr_out_of_reach_is_refused_not_downgraded(browser, rp):
    browser.sign_in()
    q = query_of(
        browser.authorize(
            rp,
            acr_values="urn:cn:gov:idp:loa:4",
            code_challenge=pkce()[1],
            code_challenge_method="S256",
        ).headers["Location"]
    )
    assert q["error"] == "unmet_authentication_requirements"


def test_revoked_access_token_stops_working_at_userinfo(app, browser, rp):
    code, verifier = browser.code_for(rp)
    token = redeem(app.test_client(), rp, code, verifier).json["access_token"]
    assert (
        app.test_client().post("/revoke", headers=rp.basic, data={"token": token}).status_code
        == 200
    )
    info = app.test_client().get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert info.status_code == 401


def test_another_client_cannot_revoke_my_tokens(app, browser, rp, register):
    other = register()
    code, verifier = browser.code_for(rp)
    token = redeem(app.test_client(), rp, code, verifier).json["access_token"]
    app.test_client().post("/revoke", headers=other.basic, data={"token": token})
    assert introspect(app, rp, token)["active"] is True


def test_private_key_jwt_works_once_and_only_for_our_issuer(app, register):
    import secrets as pysecrets

    from joserfc import jwt as jose_jwt
    from joserfc.jwk import ECKey

    key = ECKey.generate_key("P-256")
    public = {**key.as_dict(private=False), "kid": "rp-key-1", "alg": "ES256"}
    rp = register(
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [public]},
    )

    def assertion(aud: str, jti: str) -> str:
        now = int(time.time())
        claims = {
            "iss": rp.client_id,
            "sub": rp.client_id,
            "aud": aud,
            "jti": jti,
            "iat": now,
            "exp": now + 60,
        }
        return jose_jwt.encode({"alg": "ES256", "kid": "rp-key-1"}, claims, key)

    def token_request(signed: str):
        return app.test_client().post(
            "/token",
            data={
                "grant_type": "client_credentials",
                "client_id": rp.client_id,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": signed,
            },
        )

    signed = assertion("http://127.0.0.1:8000", pysecrets.token_urlsafe(8))
    assert token_request(signed).status_code == 200
    replay = token_request(signed)
    assert replay.status_code in (400, 401) and replay.json["error"] == "invalid_client"
    wrong_aud = token_request(assertion("https://other.example", pysecrets.token_urlsafe(8)))
    assert wrong_aud.json["error"] == "invalid_client"
