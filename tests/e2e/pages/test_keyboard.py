"""By keyboard alone (Tab, typing, Enter; no clicks): a service asks, the person signs in,
allows it and arrives back at the service; then changes the password in the account
centre. On a desktop in standard mode and on a phone in 长者模式. Every stop the Tab key
makes shows where the focus is (an outline)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.pages.measure import MODES, Mode
from tests.e2e.pages.site import KEYBOARD_PASSWORD, KEYBOARD_PHONES, RP_URL, Site, authorize_url

pytestmark = [pytest.mark.browser]

expect = pytest.importorskip("playwright.sync_api").expect

NEW_PASSWORD = "Pages-e2e-keys-new-2026!"


def tab_to(page: Any, selector: str, most: int = 40) -> None:
    """Press Tab until `selector` has the focus; every stop on the way must show it."""
    for _ in range(most):
        page.keyboard.press("Tab")
        here = page.evaluate(
            "s => { const el = document.activeElement; const st = getComputedStyle(el);"
            " return {match: el.matches(s), outline: st.outlineStyle !== 'none'"
            " && parseFloat(st.outlineWidth) >= 2, what: el.outerHTML.slice(0, 80)}; }",
            selector,
        )
        assert here["outline"], f"no visible focus on {here['what']}"
        if here["match"]:
            return
    raise AssertionError(f"{most} presses of Tab never reached {selector}")


@pytest.fixture(params=[MODES[0], MODES[3]], ids=lambda m: m.name)
def keyboard_page(request: Any, browser: Any, provider: Site) -> Iterator[tuple[Any, Mode, str]]:
    mode: Mode = request.param
    context = browser.new_context(**mode.context_options(provider.url))
    context.add_cookies(mode.cookies(provider.url))
    context.set_default_timeout(10_000)
    phone = KEYBOARD_PHONES[MODES.index(mode) // 3]
    yield context.new_page(), mode, phone
    context.close()


def test_sign_in_consent_and_password_change_by_keyboard(keyboard_page: Any) -> None:
    page, mode, phone = keyboard_page
    page.goto(authorize_url("openid profile phone"))  # the service sends the person here
    page.wait_for_url("**/login?**")

    tab_to(page, 'input[name="username"]')
    page.keyboard.type(phone)
    tab_to(page, 'input[name="password"]')
    page.keyboard.type(KEYBOARD_PASSWORD)
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_contain_text("请求使用您的账号")
    tab_to(page, 'button[name="decision"][value="allow"]')
    with page.expect_navigation(url=f"{RP_URL}/callback?**"):
        page.keyboard.press("Enter")
    assert "code=" in page.url

    page.goto("/account")
    tab_to(page, 'input[name="current_password"]')
    page.keyboard.type(KEYBOARD_PASSWORD)
    tab_to(page, 'input[name="new_password"]')
    page.keyboard.type(NEW_PASSWORD)
    tab_to(page, 'input[name="confirm_password"]')
    page.keyboard.type(NEW_PASSWORD)
    tab_to(page, '#password button[type="submit"]')
    page.keyboard.press("Enter")
    expect(page.locator(".notice")).to_have_text("密码已修改，您在其他设备上的登录已全部退出。")
    wanted = "mode-large" if mode.large else "mode-standard"
    assert page.locator("body").get_attribute("class") == wanted  # still, after every step
