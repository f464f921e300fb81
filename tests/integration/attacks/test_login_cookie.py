"""What a failed sign-in leaves in the browser, over HTTP: the `idp_state` cookie is signed
but anyone holding it can read it, so the typed account (perhaps a resident ID number)
must not be in it. The sign-in page still shows it again to the person who typed it."""

from __future__ import annotations

import base64
import zlib

import pytest

from tests.integration.attacks.conftest import Browser, Live

TYPED = "11010519491231002X"  # what a person types as their account: an ID number


def readable(cookie: str) -> str:
    """A Flask session cookie's payload, as anyone can read it without the key."""
    compressed = cookie.startswith(".")
    payload = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return (zlib.decompress(raw) if compressed else raw).decode()


def state_cookies(browser: Browser) -> list[str]:
    return [readable(c.value or "") for c in browser.http.cookies if c.name == "idp_state"]


@pytest.mark.parametrize("password", ["wrong-password-1", ""], ids=["wrong", "empty"])
def test_a_failed_sign_in_keeps_the_typed_account_out_of_the_cookie(live: Live, password):
    browser = live.browser(live.person())
    response = browser.sign_in(username=TYPED, password=password or None)
    if not password:  # sign_in fills in the person's password: send an empty one by hand
        response = browser.post(
            "/login",
            {"username": TYPED, "password": "", "csrf_token": browser.csrf("/login?switch=1")},
        )
    assert response.status_code == 303
    cookies = state_cookies(browser)
    assert cookies, "the failure message travels in the session cookie"
    for payload in cookies:
        assert TYPED not in payload and TYPED.lower() not in payload, payload
    page = browser.get(response.headers["Location"])
    assert f'value="{TYPED}"' in page.text  # the person need not type it again
    for payload in state_cookies(browser):
        assert TYPED not in payload


def test_the_typed_account_is_shown_once_and_to_that_browser_only(live: Live):
    browser = live.browser(live.person())
    response = browser.sign_in(username=TYPED, password="wrong-password-1")
    stranger = live.browser()
    assert f'value="{TYPED}"' not in stranger.get(response.headers["Location"]).text
    assert f'value="{TYPED}"' in browser.get(response.headers["Location"]).text
    assert f'value="{TYPED}"' not in browser.get(response.headers["Location"]).text
