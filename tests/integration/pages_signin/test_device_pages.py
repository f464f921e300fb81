"""The device verification page (/device) under Refresh and Back (issue 14, item 1): the
typed code answers with a redirect, so the confirmation page reloads without typing the
code again (nor counting a wrong try twice); Back to it after the device was signed in
says the step is done; confirming again changes nothing."""

from __future__ import annotations

import pytest
from flask import Flask

from idp.audit.events import Event
from tests.integration.channels.device_support import (
    Kiosk,
    audit_rows,
    register_kiosk,
    short_interval,
)
from tests.integration.channels.test_device_verification_page import (
    confirm,
    csrf_of,
    go_on,
    type_code,
)
from tests.integration.pages_signin.test_back_and_refresh import DONE, text


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    short_interval(monkeypatch)


@pytest.fixture
def kiosk(app: Flask) -> Kiosk:
    return Kiosk(app, register_kiosk(app))


def test_the_confirmation_page_reloads_and_back_to_it_says_done(
    app: Flask, kiosk: Kiosk, person: dict[str, str]
) -> None:
    codes = kiosk.codes()
    browser = app.test_client()
    page = type_code(browser, codes["user_code"])  # POST /device, then its redirect
    assert page.request.path == "/device/confirm"
    reloaded = browser.get("/device/confirm")  # Refresh
    assert reloaded.status_code == 200 and "社保自助终端" in text(reloaded)

    done = go_on(browser, confirm(browser, reloaded), person)
    assert b'data-outcome="done"' in done.data
    assert kiosk.poll_after_interval(codes["device_code"]).status_code == 200

    back = browser.get("/device/confirm", follow_redirects=True)  # Back to the confirmation
    assert back.status_code == 200 and DONE in text(back)
    assert 'href="/device/done"' in text(back)
    again = confirm(browser, browser.get("/device"))  # confirmed once more: nothing changes
    assert again.status_code == 303
    assert DONE in text(browser.get(again.headers["Location"], follow_redirects=True))
    assert len(audit_rows(app, Event.device_authorization_approved)) == 1


def test_refresh_after_a_wrong_code_does_not_count_it_again(app: Flask, kiosk: Kiosk) -> None:
    kiosk.codes()
    browser = app.test_client()
    page = type_code(browser, "BBBB-BBBB")
    assert "4" in text(page).split('id="user_code-error"')[1][:300]  # tries left
    for _ in range(3):
        reloaded = browser.get("/device")  # Refresh: a GET, no code sent again
        assert 'name="user_code"' in text(reloaded) and reloaded.status_code == 200
    page = type_code(browser, "CCCC-CCCC")
    assert "3" in text(page).split('id="user_code-error"')[1][:300]
    assert csrf_of(page)
