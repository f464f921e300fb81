"""The owner of an account resets its password by SMS because someone else knows it: the
thief's sessions end, and so do the thief's tokens, offline_access refresh tokens
included (issue 11, item 5, the reset half). Over HTTP, against `idp serve` with the
reference SMS gateway."""

from __future__ import annotations

from tests.integration.attacks.throttle_support import (
    Guarded,
    new_address,
    new_phone,
    server_fixture,
    start_flow,
)

guarded = server_fixture()
NEW_PASSWORD = "lantern-quay-2027"


def test_a_reset_by_sms_ends_every_token_of_the_person(guarded: Guarded) -> None:
    person = guarded.person(phone=new_phone())
    rp = guarded.client()
    thief = guarded.browser(person)
    stolen = thief.tokens_for(rp, scope="openid offline_access")
    owner = guarded.browser_from(new_address(), person)

    path = start_flow(owner, "recover", person["phone"])
    code = guarded.sms_code(person["phone"])
    done = owner.post(
        path,
        {
            "code": code,
            "password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrf_token": owner.csrf(path),
        },
    )
    assert done.is_redirect, done.text[:300]

    refreshed = guarded.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": stolen["refresh_token"]},
        auth=rp.basic,
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {stolen['access_token']}"}
    assert guarded.get("/userinfo", headers=bearer).status_code == 401
    assert thief.get("/account").status_code == 303  # its session ended too
    assert owner.sign_in(person["username"], NEW_PASSWORD).status_code == 303
