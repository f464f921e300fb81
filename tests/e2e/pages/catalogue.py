"""Every citizens' page the suite looks at, and how a person gets there: one line a page.

`who` is the browser it is reached in: "anyone" (no session), "demo" (the demo person, not
real-named) or "rep" (a real-named legal representative with an enterprise, who has
allowed the demo RP and so has a consent and several sessions in the account centre).
`reach` is a path, or a function of (page, site) that ends on the page.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.e2e.pages.site import authorize_url

Reach = str | Callable[[Any, Any], None]


@dataclass(frozen=True)
class Page:
    name: str
    reach: Reach
    who: str = "anyone"
    h1: str = ""  # a part of the h1 (Chinese): proves the page, not an error, was drawn

    def open(self, page: Any, site: Any) -> None:
        if isinstance(self.reach, str):
            page.goto(self.reach)
        else:
            self.reach(page, site)


PHONES = itertools.count(17000000950)  # a new number each time: a number waits to resend


def _submit(path: str, tick: bool = False) -> Callable[[Any, Any], None]:
    """The page after sending a (new, synthetic) mobile number from `path`: the code step."""

    def reach(page: Any, site: Any) -> None:
        page.goto(path)
        page.fill('input[name="phone"]', str(next(PHONES)))
        if tick:
            page.check('input[name="agreement"]')
        page.locator('form:has(input[name="phone"]) button[type="submit"]').click()
        page.wait_for_selector('input[name="code"]')

    return reach


def _new_phone(page: Any, site: Any) -> None:
    """The account centre's phone change, at its code step (nothing changes until the
    code is typed)."""
    page.goto("/account")
    page.fill('input[name="new_phone"]', str(next(PHONES)))
    page.fill('input[name="phone_password"]', site.password)
    page.locator('form:has(input[name="new_phone"]) button[type="submit"]').click()
    page.wait_for_selector('input[name="code"]')


def _authorize(scope: str) -> Callable[[Any, Any], None]:
    def reach(page: Any, site: Any) -> None:
        page.goto(authorize_url(scope))

    return reach


PAGES = (
    Page("login", "/login", h1="登录"),
    Page("login-org", "/login?tab=org", h1="登录"),
    Page("login-sms", "/login?method=sms", h1="登录"),
    Page("login-sms-code", _submit("/login?method=sms"), h1="登录"),
    Page("login-qr", "/login?method=qr", h1="登录"),
    Page("register", "/register", h1="注册"),
    Page("register-code", _submit("/register", tick=True), h1="注册"),
    Page("agreement", "/agreement", h1="协议"),
    Page("recover", "/recover", h1="找回"),
    Page("recover-code", _submit("/recover"), h1="找回"),
    Page("device", "/device"),
    Page("error-unknown-client", "/authorize?client_id=nobody&response_type=code"),
    Page("error-not-found", "/no-such-page"),
    Page("signed-out", "/account/signed-out"),
    Page("account", "/account", "demo", h1="个人中心"),
    Page("my-data", "/account/my-data", "demo"),
    Page("close-account", "/account/close", "demo"),
    Page("realname", "/account/realname", "demo", h1="实名"),
    Page("account-phone-code", _new_phone, "demo", h1="更换手机号码"),
    Page("account-close", "/account/close", "demo", h1="注销账号"),
    Page("consent", _authorize("openid profile phone"), "demo", h1="请求使用您的账号"),
    Page("logout", "/logout", "demo", h1="退出"),
    Page("account-full", "/account", "rep", h1="个人中心"),
    Page("organizations", "/account/organizations", "rep"),
    Page("face", "/account/face", "rep"),
    Page("act-for", _authorize("openid profile org"), "rep", h1="办事身份"),
)
