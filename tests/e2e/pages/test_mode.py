"""长者模式 is chosen once, by a link on any page, and remembered by that browser (for a
year, in the `idp_mode` cookie) on every page after; another browser is not affected."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.pages.site import Site

pytestmark = [pytest.mark.browser]

expect = pytest.importorskip("playwright.sync_api").expect


def test_large_text_is_remembered_by_this_browser_only(browser: Any, provider: Site) -> None:
    mine = browser.new_context(locale="zh-CN", base_url=provider.url)
    theirs = browser.new_context(locale="zh-CN", base_url=provider.url)
    try:
        page = mine.new_page()
        page.goto("/register")
        page.keyboard.press("Tab")  # the way there is a link near the top, by keyboard too
        page.get_by_role("link", name="长者模式").press("Enter")
        expect(page.locator("body")).to_have_class("mode-large")
        for path in ("/login", "/recover", "/agreement", "/device"):
            page.goto(path)
            expect(page.locator("body")).to_have_class("mode-large")
        (cookie,) = [c for c in mine.cookies() if c["name"] == "idp_mode"]
        assert cookie["value"] == "large"
        assert cookie["expires"] > time.time() + 300 * 86400  # kept, not a session cookie

        other = theirs.new_page()
        other.goto("/login")
        expect(other.locator("body")).to_have_class("mode-standard")

        page.get_by_role("link", name="标准模式").press("Enter")
        expect(page.locator("body")).to_have_class("mode-standard")
        page.goto("/register")
        expect(page.locator("body")).to_have_class("mode-standard")
    finally:
        mine.close()
        theirs.close()
