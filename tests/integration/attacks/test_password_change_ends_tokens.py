"""A thief holds a person's tokens, offline_access refresh tokens included; the person
changes (or resets) the password. Everything the thief holds must die; the session that
changed it lives on only if the person chose so (issue 11, item 5)."""

from __future__ import annotations

from tests.integration.attacks.conftest import Browser, Live, Rp

NEW_PASSWORD = "lantern-quay-2027"


def refresh(live: Live, rp: Rp, token: str):
    return live.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": token}, auth=rp.basic
    )


def userinfo_status(live: Live, access_token: str) -> int:
    return live.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"}).status_code


def change_password(browser: Browser, current: str, **extra: str):
    return browser.post(
        "/account/password",
        {
            "current_password": current,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrf_token": browser.csrf("/account"),
            **extra,
        },
    )


def test_a_password_change_ends_the_thiefs_offline_tokens(live: Live) -> None:
    person = live.person()
    rp = live.client()
    thief = live.browser(person)  # signed in elsewhere, with the stolen password
    stolen = thief.tokens_for(rp, scope="openid offline_access")
    owner = live.browser(person)
    kept = owner.tokens_for(rp, scope="openid offline_access")

    assert change_password(owner, person["password"]).status_code == 303

    assert refresh(live, rp, stolen["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo_status(live, stolen["access_token"]) == 401
    # the session that changed it stays signed in, with its own tokens
    assert owner.get("/account").status_code == 200
    assert refresh(live, rp, kept["refresh_token"]).status_code == 200
    assert thief.get("/account").status_code == 303  # sent to sign in


def test_signing_out_here_too_keeps_nothing(live: Live) -> None:
    person = live.person()
    rp = live.client()
    owner = live.browser(person)
    own = owner.tokens_for(rp, scope="openid offline_access")

    done = change_password(owner, person["password"], sign_out_here="yes")

    assert done.status_code == 303 and done.headers["Location"].startswith("/login")
    assert owner.get("/account").status_code == 303
    assert refresh(live, rp, own["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo_status(live, own["access_token"]) == 401
