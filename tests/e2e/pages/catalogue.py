"""Every citizens' page the suite looks at, and how a person gets there: one line a page.

`who` is the browser it is reached in: "anyone" (no session), "demo" (the demo person, not
real-named), "rep" (a real-named legal representative with an enterprise, who has allowed
the demo RP and so has a consent and several sessions in the account centre), "closing"
(has asked to close the account), "agreement" (accepted an older agreement than the
current one), "app" (real-named, with the official app on a phone), "signed-in",
"declined", "registered" or "recovered" (finished a sign-in to the demo RP, turned it down
on consent, registered, or set a new password, in this browser): see people.py.
`reach` is a path, or a function of (page, site) that ends on the page.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.e2e.pages.people import FINISHED_AT
from tests.e2e.pages.site import LOA_4, RP_URL, authorize_url

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
        # A page reached by a click is found by an element of it, which can exist before
        # its stylesheet has arrived: measured then, it is an unstyled page (the flake of
        # step-up-app and account-phone-code, text 13.3 px and line height normal).
        page.wait_for_load_state("load")


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


def _back_to(who: str) -> Callable[[Any, Any], None]:
    """Back (or Refresh) to the page of a step this browser finished (a sign-in, a
    registration, a recovery: people.py, `People.state`, finished it)."""

    def reach(page: Any, site: Any) -> None:
        page.goto(FINISHED_AT[(site.url, who)])

    return reach


def _device_code_typed(page: Any, site: Any) -> None:
    """A kiosk asks for a code; the person types it on /device: who asks, and what for."""
    page.goto("/device")
    page.fill('input[name="user_code"]', site.user_code())
    page.locator('form:has(input[name="user_code"]) button[type="submit"]').click()
    page.wait_for_url("**/device/confirm")


def _with_devices(page: Any, site: Any) -> None:
    page.goto("/account")
    page.wait_for_selector('#devices tr[data-device] td:has-text("演示手机")')


def _username_refused(page: Any, site: Any) -> None:
    """The user name form after a name that looks like a phone number: said by the field."""
    page.goto("/account")
    page.fill('input[name="username"]', "17000000999")
    page.locator('form:has(input[name="username"]) button[type="submit"]').click()
    page.wait_for_selector("#change-username .field-error")


def _step_up(page: Any, site: Any) -> None:
    """The demo RP asks for level 4 (real person): a real-named person is asked for a face
    check, or to confirm in the app on their phone."""
    page.goto(authorize_url("openid profile", acr_values=LOA_4))
    if not page.locator("#app-step-up").count():
        said = page.locator("body").inner_text()[:300]
        raise AssertionError(f"no step-up in the app at {page.url}: {said}")


def _step_up_in_app(page: Any, site: Any) -> None:
    _step_up(page, site)
    page.locator("#app-step-up button").click()
    page.wait_for_selector("#app-waiting")


def _known_client_refused(page: Any, site: Any) -> None:
    """The demo RP's request with a redirect URI it never registered: nothing may be sent
    there, and the way back is the demo RP's registered address."""
    page.goto(
        "/authorize?client_id=demo-rp&response_type=code&scope=openid"
        "&redirect_uri=https%3A%2F%2Felsewhere.example%2Fcb"
    )
    back = page.locator("a.way-back").get_attribute("href") or ""
    assert back.startswith(RP_URL), back


# The demo RP signs the person out (RP-initiated logout) without an ID token: they are asked.
END_SESSION = f"/end_session?client_id=demo-rp&post_logout_redirect_uri={RP_URL}/"

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
    Page("register-done", _back_to("registered"), "registered", h1="注册完成"),
    Page("recover-done", _back_to("recovered"), "recovered", h1="密码已重置"),
    Page("agreement-accepted", "/agreement/accept", "registered", h1="实名注册协议"),
    Page("device", "/device"),
    Page("device-confirm", _device_code_typed, "demo", h1="请求登录您的账号"),
    Page("device-done", "/device/done", h1="已完成"),
    Page("error-unknown-client", "/authorize?client_id=nobody&response_type=code"),
    Page("error-known-client", _known_client_refused, h1="无法完成该请求"),
    Page("error-not-found", "/no-such-page"),
    Page("signed-out", "/account/signed-out"),
    Page("account", "/account", "demo", h1="个人中心"),
    Page("my-data", "/account/my-data", "demo"),
    Page("realname", "/account/realname", "demo", h1="实名"),
    Page("account-phone-code", _new_phone, "demo", h1="更换手机号码"),
    Page("account-close", "/account/close", "demo", h1="注销账号"),
    Page("account-username-refused", _username_refused, "demo", h1="个人中心"),
    Page("consent", _authorize("openid profile phone"), "demo", h1="请求使用您的账号"),
    Page("signin-declined", _back_to("declined"), "declined", h1="此步骤已完成"),
    Page("logout", "/logout", "demo", h1="退出"),
    Page("end-session", END_SESSION, "demo", h1="退出"),
    Page("account-full", "/account", "rep", h1="个人中心"),
    Page("organizations", "/account/organizations", "rep"),
    Page("face", "/account/face", "rep"),
    Page("act-for", _authorize("openid profile org"), "rep", h1="办事身份"),
    Page("signin-done", _back_to("signed-in"), "signed-in", h1="此步骤已完成"),
    Page("account-closing", "/account/closing", "closing", h1="正在注销"),
    Page("account-set-to-close", "/account", "closing", h1="个人中心"),
    Page("account-close-pending", "/account/close", "closing", h1="注销账号"),
    Page("agreement-accept", "/agreement/accept", "agreement", h1="实名注册协议"),
    Page("account-devices", _with_devices, "app", h1="个人中心"),
    Page("step-up", _step_up, "app", h1="实人认证"),
    Page("step-up-app", _step_up_in_app, "app", h1="在 App 上确认"),
)
