"""QR sign-in in a real browser while the reference app (idp_app, over HTTP) scans and
approves: the page completes by itself, to the demo RP, whose ID token says amr swk; the
same without script (the 我已在手机上确认 button); the tabs by keyboard, in 长者模式."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Provider, urlpath

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect
client_module = pytest.importorskip("idp_app.client")

QR = "#qr-sign-in"


@pytest.fixture(scope="module")
def phone(provider: Provider) -> Any:
    """The demo person's phone with the official app, enrolled through the sign-in form."""
    return client_module.AppClient.enrol(
        provider.url, username=provider.username, password=provider.password, name="演示手机"
    )


def shown_code(page: Any, provider: Provider) -> str:
    """What the app's camera reads off the page: the QR code's payload."""
    expect(page.locator(f"{QR} img.qr-code")).to_be_visible()
    status_url = page.locator(QR).get_attribute("data-status-url")
    found = re.fullmatch(r"/qr/([^/]+)/status", status_url or "")
    assert found, status_url
    return f"{provider.url}/qr/{found.group(1)}"


def test_the_page_finishes_by_itself_while_the_app_approves(
    new_page: Callable[..., Any], provider: Provider, demo_rp: str, phone: Any, screenshot: Any
):
    page = new_page()
    page.goto(demo_rp + "/")
    page.click("#signin")
    page.wait_for_url(f"{provider.url}/login**")
    page.get_by_role("tab", name="扫码登录").click()
    expect(page.get_by_role("tab", name="扫码登录")).to_have_attribute("aria-selected", "true")
    payload = shown_code(page, provider)
    expect(page.locator(f"{QR} .qr-status")).to_have_text("请使用官方 App 扫码登录")
    screenshot(page, "qr-login.png")

    seen = phone.scan(payload)
    assert seen["kind"] == "qr" and seen["client_name"] == "演示应用（社保查询）"
    assert seen["location"] == "本机"
    expect(page.locator(f"{QR} .qr-status")).to_have_text("已扫码，请在手机上确认")
    screenshot(page, "qr-login-scanned.png")

    phone.approve(seen["id"])
    page.wait_for_selector('button[name="decision"][value="allow"]')  # by itself: no click
    page.click('button[name="decision"][value="allow"]')
    page.wait_for_url(demo_rp + "/")
    claims = {
        row.get_attribute("data-claim"): row.inner_text()
        for row in page.query_selector_all("td[data-claim]")
    }
    assert claims["iss"] == provider.url
    assert claims["amr"] == "['swk']"
    assert claims["phone_number"] == "+86" + provider.phone


def test_without_script_the_button_finishes_after_the_app_approves(
    new_page: Callable[..., Any], provider: Provider, phone: Any
):
    page = new_page(java_script_enabled=False)
    page.goto("/login")
    page.get_by_role("tab", name="扫码登录").click()
    payload = shown_code(page, provider)
    button = page.get_by_role("button", name="我已在手机上确认")
    button.click()  # too early: the same code again, and why
    expect(page.locator(".notice-error")).to_contain_text("尚未在手机上确认")
    assert shown_code(page, provider) == payload

    seen = phone.scan(payload)
    phone.approve(seen["id"])
    page.get_by_role("button", name="我已在手机上确认").click()
    page.wait_for_url(f"{provider.url}/account")
    expect(page.locator("tr[data-session].current")).to_have_count(1)


def test_a_declined_code_offers_a_new_one(
    new_page: Callable[..., Any], provider: Provider, phone: Any
):
    page = new_page()
    page.goto("/login?method=qr")
    payload = shown_code(page, provider)
    phone.deny(phone.scan(payload)["id"])
    expect(page.locator(f"{QR} .qr-status")).to_contain_text("已在手机上拒绝本次登录")
    expect(page.locator(f"{QR} img.qr-code")).to_be_hidden()
    page.get_by_role("link", name="刷新二维码").click()
    assert shown_code(page, provider) != payload
    assert urlpath(page.url) == "/login"


def test_tabs_work_by_keyboard_in_large_text_mode(
    new_page: Callable[..., Any], provider: Provider, screenshot: Any
):
    page = new_page()
    page.goto("/login?mode=large")
    expect(page.locator("body")).to_have_class("mode-large")
    person = page.get_by_role("tab", name="个人用户")
    expect(person).to_have_attribute("aria-selected", "true")
    person.focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="法人用户")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**tab=org**")
    expect(page.get_by_role("tab", name="法人用户")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#user-panel .hint").first).to_contain_text("登录后选择所代表的单位")

    password = page.get_by_role("tab", name="账号密码")
    password.focus()
    page.keyboard.press("End")
    expect(page.get_by_role("tab", name="扫码登录")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("tab", name="短信验证码")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**method=sms**")
    expect(page.locator('input[name="phone"]')).to_be_visible()
    expect(page.locator('input[name="tab"]')).to_have_value("org")  # remembered in the form
    outline = page.get_by_role("tab", name="短信验证码")
    outline.focus()
    assert outline.evaluate("e => getComputedStyle(e).outlineStyle") != "none"  # focus shows
    screenshot(page, "login-large-org-sms.png")
