"""The SMS code step in chromium (issue 14, item 10): "send a new code" is disabled while
the wait lasts, counting it down in words, then enabled; in 长者模式 on a 360 px phone its
controls are at least 60 px tall and the page does not scroll sideways."""

from __future__ import annotations

import pytest

from idp.accounts import sms_codes
from tests.integration.channels.test_frontchannel_logout import chromium_serving

expect = pytest.importorskip("playwright.sync_api").expect


def test_resend_counts_down_then_may_be_pressed_in_large_text(app, person, monkeypatch):
    monkeypatch.setattr(sms_codes, "PHONE_RESEND_AFTER", 3)
    with chromium_serving(app) as (url, chromium):
        context = chromium.new_context(locale="zh-CN", viewport={"width": 360, "height": 740})
        page = context.new_page()
        page.goto(f"{url}/login?method=sms&mode=large")
        page.fill('input[name="phone"]', person["phone"])
        page.get_by_role("button", name="获取验证码", exact=True).click()
        page.wait_for_url("**sms=**")
        resend = page.get_by_role("button", name="重新获取验证码", exact=True)
        expect(resend).to_be_disabled()
        expect(page.locator("#resend-wait")).to_contain_text("秒后可重新获取验证码")
        expect(resend).to_be_enabled(timeout=6_000)
        expect(page.locator("#resend-wait")).to_have_text("没有收到验证码？现在可以重新获取。")
        for control in (resend, page.get_by_role("link", name="更换手机号码")):
            box = control.bounding_box()
            assert box is not None and box["height"] >= 60, box
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        resend.click()
        expect(page.locator("body")).to_contain_text("新的验证码正在发送")
        context.close()
