"""A page (or another RP) sends the person's browser to /end_session with a token it got
hold of: only one of our ID tokens, for this session, may sign the person out without a
question (issue 11, item 6)."""

from __future__ import annotations

from tests.integration.attacks.conftest import Live

BYE = "https://rp.example.test/bye"


def test_an_access_token_as_hint_does_not_sign_out_silently(live: Live) -> None:
    person = live.person()
    rp = live.client(post_logout_redirect_uris=[BYE])
    browser = live.browser(person)
    tokens = browser.tokens_for(rp, scope="openid")

    answer = browser.get(
        "/end_session",
        params={"id_token_hint": tokens["access_token"], "client_id": rp.client_id},
    )

    assert answer.status_code == 200 and 'name="decision"' in answer.text  # asked first
    assert browser.get("/account").status_code == 200  # still signed in


def test_a_logout_token_style_or_foreign_client_hint_is_no_proof(live: Live) -> None:
    """An ID token of another browser's session asks too; a forged one is refused."""
    person = live.person()
    rp = live.client(post_logout_redirect_uris=[BYE])
    browser = live.browser(person)
    other = live.browser(person)
    theirs = other.tokens_for(rp, scope="openid")["id_token"]
    browser.tokens_for(rp, scope="openid")

    asked = browser.get("/end_session", params={"id_token_hint": theirs})
    assert asked.status_code == 200 and 'name="decision"' in asked.text
    forged = theirs[:-4] + ("AAAA" if not theirs.endswith("AAAA") else "BBBB")
    assert browser.get("/end_session", params={"id_token_hint": forged}).status_code == 400
    assert browser.get("/account").status_code == 200


def test_our_own_id_token_still_signs_out_and_returns_to_the_rp(live: Live) -> None:
    person = live.person()
    rp = live.client(post_logout_redirect_uris=[BYE])
    browser = live.browser(person)
    id_token = browser.tokens_for(rp, scope="openid")["id_token"]

    done = browser.get(
        "/end_session",
        params={"id_token_hint": id_token, "post_logout_redirect_uri": BYE, "state": "s1"},
    )

    assert done.status_code == 303 and done.headers["Location"] == BYE + "?state=s1"
    assert browser.get("/account").status_code == 303
