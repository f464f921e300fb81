"""Consent in the account centre, and the ways a session ends for relying parties."""

from __future__ import annotations

import re

from tests.helpers import csrf_token
from tests.integration.oidc.conftest import query_of, redeem


def introspect(app, rp, token: str) -> dict:
    return app.test_client().post("/introspect", headers=rp.basic, data={"token": token}).json


def test_withdrawing_consent_revokes_the_services_tokens(app, browser, rp):
    code, verifier = browser.code_for(rp, scope="openid offline_access")
    tokens = redeem(app.test_client(), rp, code, verifier).json
    page = browser.client.get("/account").get_data(as_text=True)
    assert f'data-consent="{rp.client_id}"' in page and "社保系统" in page
    browser.client.post(
        f"/account/consents/{rp.client_id}/withdraw",
        data={"csrf_token": csrf_token(browser.client, "/account")},
    )
    assert f'data-consent="{rp.client_id}"' not in browser.client.get("/account").get_data(
        as_text=True
    )
    assert introspect(app, rp, tokens["refresh_token"]) == {"active": False}
    assert introspect(app, rp, tokens["access_token"]) == {"active": False}
    # next time the consent page asks again
    response = browser.open_step(
        rp, scope="openid", code_challenge="a" * 43, code_challenge_method="S256"
    )
    assert response.status_code == 200 and 'value="allow"' in response.get_data(as_text=True)


def test_signing_out_ends_online_tokens_but_not_offline_ones(app, browser, rp):
    code, verifier = browser.code_for(rp, scope="openid")
    online = redeem(app.test_client(), rp, code, verifier).json
    code, verifier = browser.code_for(rp, scope="openid offline_access")
    offline = redeem(app.test_client(), rp, code, verifier).json
    browser.client.post("/logout", data={"csrf_token": csrf_token(browser.client, "/logout")})
    assert introspect(app, rp, online["access_token"]) == {"active": False}
    assert introspect(app, rp, offline["refresh_token"])["active"] is True


def register_with_logout(register):
    return register(post_logout_redirect_uris=["https://rp.example.test/bye"])


def test_end_session_with_id_token_hint_signs_out_and_returns_to_the_rp(app, browser, register):
    rp = register_with_logout(register)
    code, verifier = browser.code_for(rp)
    id_token = redeem(app.test_client(), rp, code, verifier).json["id_token"]
    response = browser.client.get(
        "/end_session",
        query_string={
            "id_token_hint": id_token,
            "post_logout_redirect_uri": "https://rp.example.test/bye",
            "state": "bye-1",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "https://rp.example.test/bye?state=bye-1"
    assert browser.client.get("/account").status_code == 303  # signed out


def test_end_session_without_hint_asks_first(app, browser, register):
    rp = register_with_logout(register)
    browser.code_for(rp)
    page = browser.client.get(
        "/end_session",
        query_string={
            "client_id": rp.client_id,
            "post_logout_redirect_uri": "https://rp.example.test/bye",
        },
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="decision" value="logout"' in html
    assert browser.client.get("/account").status_code == 200  # nothing ended yet
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    done = browser.client.post(
        "/end_session",
        data={
            "csrf_token": token,
            "decision": "logout",
            "client_id": rp.client_id,
            "post_logout_redirect_uri": "https://rp.example.test/bye",
        },
    )
    assert done.headers["Location"] == "https://rp.example.test/bye"
    assert browser.client.get("/account").status_code == 303


def test_end_session_refuses_unregistered_post_logout_redirect(browser, register):
    rp = register_with_logout(register)
    browser.sign_in()
    for target in ("https://evil.example.test/", "https://rp.example.test/bye/"):
        response = browser.client.get(
            "/end_session",
            query_string={"client_id": rp.client_id, "post_logout_redirect_uri": target},
        )
        assert response.status_code == 400 and "Location" not in response.headers
    assert browser.client.get("/account").status_code == 200


def test_end_session_without_csrf_changes_nothing(browser, register):
    rp = register_with_logout(register)
    browser.sign_in()
    response = browser.client.post(
        "/end_session", data={"decision": "logout", "client_id": rp.client_id}
    )
    assert response.status_code == 400
    assert browser.client.get("/account").status_code == 200


def test_prompt_none_after_logout_is_login_required(app, browser, rp):
    browser.code_for(rp)
    browser.client.post("/logout", data={"csrf_token": csrf_token(browser.client, "/logout")})
    q = query_of(
        browser.client.get(
            "/authorize",
            query_string={
                "response_type": "code",
                "client_id": rp.client_id,
                "redirect_uri": rp.redirect_uri,
                "scope": "openid",
                "prompt": "none",
                "code_challenge": "a" * 43,
                "code_challenge_method": "S256",
            },
        ).headers["Location"]
    )
    assert q["error"] == "login_required"
