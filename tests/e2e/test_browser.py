"""A person in a real browser: sign-in page in both languages, the account centre, ending a
session from another browser, signing out, and the large-text mode (适老化).

The provider runs as `idp serve` in its own process (see conftest.py); nothing here
touches its database or Redis directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Provider, urlpath

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

SUBMIT = 'form:has(input[name="password"]) button[type="submit"]'


def sign_in(page: Any, provider: Provider) -> None:
    page.goto("/login")
    page.fill('input[name="username"]', provider.username)
    page.fill('input[name="password"]', provider.password)
    page.click(SUBMIT)
    page.wait_for_url(f"{provider.url}/account")


def test_sign_in_page_in_chinese_and_english(new_page: Callable[..., Any], screenshot: Any):
    page = new_page()
    page.goto("/login")
    expect(page.locator("h1")).to_have_text("登录")
    expect(page.locator(".brand")).to_have_text("统一身份认证平台")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    screenshot(page, "login-zh.png")

    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/login?lang=en")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator(SUBMIT)).to_have_text("Sign in")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    screenshot(page, "login-en.png")

    page.goto("/login")  # the choice is remembered
    expect(page.locator("h1")).to_have_text("Sign in")


def test_sign_in_shows_the_masked_profile(
    new_page: Callable[..., Any], provider: Provider, screenshot: Any
):
    page = new_page()
    sign_in(page, provider)
    expect(page.locator('dd[data-field="username"]')).to_have_text(provider.username)
    masked = f"{provider.phone[:3]}****{provider.phone[-4:]}"
    assert masked == "170****0001"
    expect(page.locator('dd[data-field="phone"]')).to_have_text(masked)
    assert provider.phone not in page.content()
    expect(page.locator("tr[data-session].current")).to_have_count(1)
    screenshot(page, "account-centre.png")


def test_ending_a_session_from_another_browser(new_page: Callable[..., Any], provider: Provider):
    a, b = new_page(), new_page()
    sign_in(a, provider)
    sign_in(b, provider)

    a.reload()
    rows = a.locator("tr[data-session]")
    expect(rows).to_have_count(2)
    expect(a.locator("tr[data-session].current")).to_have_count(1)
    other = a.locator("tr[data-session]:not(.current)")
    other.get_by_role("button", name=re.compile(r"^(结束|End)")).click()
    a.wait_for_url(f"{provider.url}/account#sessions")
    expect(a.locator(".notice")).to_have_text("该会话已结束。")
    expect(rows).to_have_count(1)
    expect(a.locator("tr[data-session].current")).to_have_count(1)

    b.goto("/account")
    assert urlpath(b.url) == "/login"
    expect(b.locator('input[name="password"]')).to_be_visible()

    a.goto("/account")  # ending B's session left A's alone
    assert urlpath(a.url) == "/account"


def test_sign_out(new_page: Callable[..., Any], provider: Provider):
    page = new_page()
    sign_in(page, provider)
    page.goto("/logout")
    page.click('button[name="decision"][value="logout"]')
    page.wait_for_url(f"{provider.url}/login")
    expect(page.locator(".notice")).to_have_text("您已安全退出。")

    page.goto("/account")
    assert urlpath(page.url) == "/login"
    expect(page.locator('input[name="username"]')).to_be_visible()


def test_large_text_mode_is_remembered(new_page: Callable[..., Any]):
    page = new_page()
    page.goto("/login")
    body = page.locator("body")
    expect(body).to_have_class("mode-standard")
    standard_size = body.evaluate("b => parseFloat(getComputedStyle(b).fontSize)")

    page.get_by_role("link", name="长者模式").click()
    expect(body).to_have_class("mode-large")
    # the class arrives with the HTML, the larger font once the stylesheet has loaded
    # (expect() retries without eval; wait_for_function's polling evals its text, which
    # the page's CSP rightly refuses)
    expect(body).not_to_have_css("font-size", f"{standard_size:g}px")
    assert body.evaluate("b => parseFloat(getComputedStyle(b).fontSize)") > standard_size

    page.goto("/login")
    expect(body).to_have_class("mode-large")
    page.get_by_role("link", name="标准模式").click()
    expect(body).to_have_class("mode-standard")
