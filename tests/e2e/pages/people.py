"""The browsers the page suite opens: each a fresh context in one of the four modes, signed
in as nobody, the demo person, the legal representative or a person at one step of an
account's life (see `People.state`). Each person signs in once per run (their cookies are
then copied into every context that needs them), so the suite spends its time on the
pages, not on sign-ins.

The registration and the recovery that finish are done once a run, and their pages reached
again by each mode's browser (as Back or Refresh would): a person's number gets at most 5
codes an hour. (The suite's browsers all come from 127.0.0.1, so its provider allows that
address more codes than the default 20, as a service hall behind one address would be.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.e2e.pages.measure import Mode
from tests.e2e.pages.site import (
    AGREEMENT_PHONE,
    APP_PHONE,
    CLOSING_PHONE,
    PEOPLE_PASSWORD,
    RECOVER_PHONE,
    REGISTER_PHONE,
    RP_URL,
    Site,
    authorize_url,
)

SUBMIT = 'form:has(input[name="password"]) button[type="submit"]'
CODE_SUBMIT = 'form:has(input[name="code"]) button[type="submit"]'
# The code step of the registration or recovery `who` finished, per site: (url, who) -> path
FINISHED_AT: dict[tuple[str, str], str] = {}


def sign_in(page: Any, account: str, password: str, lands: str = "**/account") -> None:
    page.goto("/login")
    sign_in_here(page, account, password)
    page.wait_for_url(lands)


def sign_in_here(page: Any, account: str, password: str) -> None:
    """On the sign-in page: the account and password, sent."""
    page.fill('input[name="username"]', account)
    page.fill('input[name="password"]', password)
    page.click(SUBMIT)


@dataclass
class People:
    browser: Any
    site: Site
    states: dict[str, Any] = field(default_factory=dict)
    contexts: dict[tuple[str, str], Any] = field(default_factory=dict)

    def context(self, who: str, mode: Mode) -> Any:
        """A browser of `who` in `mode` (the 长者模式 choice in its cookie, as remembered)."""
        if (who, mode.name) not in self.contexts:
            state = None if who == "anyone" else self.state(who)
            context = self.browser.new_context(
                **mode.context_options(self.site.url), storage_state=state
            )
            context.add_cookies(mode.cookies(self.site.url))
            context.set_default_timeout(10_000)
            self.contexts[(who, mode.name)] = context
        return self.contexts[(who, mode.name)]

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()

    def state(self, who: str) -> Any:
        if who not in self.states:
            context = self.browser.new_context(locale="zh-CN", base_url=self.site.url)
            context.set_default_timeout(10_000)
            page = context.new_page()
            if who == "demo":
                sign_in(page, self.site.username, self.site.password)
            elif who == "rep":
                self._legal_representative(page)
            elif who == "closing":
                self._closing(page)
            elif who == "agreement":  # the sign-in stops at the newer agreement
                sign_in(page, AGREEMENT_PHONE, PEOPLE_PASSWORD, lands="**/agreement/accept**")
            elif who == "app":
                self._with_app(page)
            elif who in ("registered", "recovered"):
                self._finish_code_step(page, who)
            elif who in ("signed-in", "declined"):
                self._finish_sign_in(page, who)
            else:
                raise ValueError(f"nobody is called {who!r}")
            self.states[who] = context.storage_state()
            context.close()
        return self.states[who]

    def _closing(self, page: Any) -> None:
        """Has asked to close the account (password and the box ticked): it is set to
        close after the cooling-off period, and works until then."""
        sign_in(page, CLOSING_PHONE, PEOPLE_PASSWORD)
        page.goto("/account/close")
        page.fill('input[name="close_password"]', PEOPLE_PASSWORD)
        page.check('input[name="understood"]')
        page.locator('form:has(input[name="understood"]) button[type="submit"]').click()
        page.wait_for_selector("#closing")

    def _finish_sign_in(self, page: Any, who: str) -> None:
        """The demo RP sends this browser to sign in: the legal representative signs in
        and goes straight on to it (they allowed it before: see `_legal_representative`),
        or the demo person signs in and denies it (so never allows it: the consent page
        stays theirs to see). Remembers the sign-in page for the first, the consent page
        for the second: Back leads there from the demo RP."""
        if who == "signed-in":
            self.state("rep")
        page.goto(authorize_url("openid profile phone"))
        page.wait_for_url("**/login?**")
        shown = page.url
        if who == "signed-in":
            sign_in_here(page, self.site.rep_phone, self.site.rep_password)
        else:
            sign_in_here(page, self.site.username, self.site.password)
            page.wait_for_selector('button[name="decision"][value="deny"]')
            shown = page.url
            page.click('button[name="decision"][value="deny"]')
        page.wait_for_url(f"{RP_URL}/**")
        FINISHED_AT[(self.site.url, who)] = shown

    def _finish_code_step(self, page: Any, who: str) -> None:
        """Registers a new number, or sets a new password for an account, with the code
        texted to it; remembers the code step's page, to come back to."""
        path, phone, lands = {
            "registered": ("/register", REGISTER_PHONE, "**/account/realname"),
            "recovered": ("/recover", RECOVER_PHONE, "**/login"),
        }[who]
        page.goto(path)
        page.fill('input[name="phone"]', phone)
        if who == "registered":
            page.check('input[name="agreement"]')
        page.locator('form:has(input[name="phone"]) button[type="submit"]').click()
        page.wait_for_selector('input[name="code"]')
        step = urlsplit(page.url).path
        page.fill('input[name="code"]', self.site.sms_code(phone))
        page.fill('input[name="password"]', "Pages-e2e-new-2026!")
        page.locator(CODE_SUBMIT).click()
        page.wait_for_url(lands)
        FINISHED_AT[(self.site.url, who)] = step

    def _with_app(self, page: Any) -> None:
        """Real-named, with the official app set up on a phone called 演示手机 (it signs
        in through the sign-in form and enrols its key, as test_qr_browser's phone does)."""
        from idp_app.client import AppClient

        AppClient.enrol(
            self.site.url, username=APP_PHONE, password=PEOPLE_PASSWORD, name="演示手机"
        )
        sign_in(page, APP_PHONE, PEOPLE_PASSWORD)

    def _legal_representative(self, page: Any) -> None:
        """Signed in twice (two sessions in the table), and has allowed the demo RP acting
        for themselves (a consent in the table)."""
        other = self.browser.new_context(locale="zh-CN", base_url=self.site.url)
        sign_in(other.new_page(), self.site.rep_phone, self.site.rep_password)
        other.close()
        sign_in(page, self.site.rep_phone, self.site.rep_password)
        page.goto(authorize_url("openid profile phone org"))
        if not page.locator('input[name="act_for"]').count():
            said = page.locator("main").inner_text()[:300]
            raise AssertionError(f"no act-for choice at {page.url}: {said}")
        page.check('input[name="act_for"][value="self"]')
        page.click('button[name="decision"][value="continue"]')
        page.click('button[name="decision"][value="allow"]')
        page.wait_for_url(f"{RP_URL}/**")


@dataclass
class Browsers:
    """Pages opened for one test, closed after it. Their contexts (one per person and
    mode: 0.5 s each to make) live as long as `people`."""

    browser: Any
    site: Site
    people: People
    pages: list[Any] = field(default_factory=list)

    def open(self, who: str, mode: Mode) -> Any:
        page = self.people.context(who, mode).new_page()
        self.pages.append(page)
        return page

    def close(self) -> None:
        for page in self.pages:
            page.close()
