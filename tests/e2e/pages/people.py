"""The browsers the page suite opens: each a fresh context in one of the four modes, signed
in as nobody, the demo person or the legal representative. Each person signs in once per
run (their cookies are then copied into every context that needs them), so the suite
spends its time on the pages, not on sign-ins."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.e2e.pages.measure import Mode
from tests.e2e.pages.site import RP_URL, Site, authorize_url

SUBMIT = 'form:has(input[name="password"]) button[type="submit"]'


def sign_in(page: Any, account: str, password: str) -> None:
    page.goto("/login")
    page.fill('input[name="username"]', account)
    page.fill('input[name="password"]', password)
    page.click(SUBMIT)
    page.wait_for_url("**/account")


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
            else:
                self._legal_representative(page)
            self.states[who] = context.storage_state()
            context.close()
        return self.states[who]

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
