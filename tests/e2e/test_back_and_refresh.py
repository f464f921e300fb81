"""Refresh and Back on the sign-in side, in a real browser (issue 14, item 1): a legal
representative signs in to the demo RP, chooses to act for the enterprise (请选择办事身份),
reloads the consent page that follows (it is a GET: no "resend the form?", no "expired"),
allows, lands on the demo RP, then presses Back: the provider says the step is done and
offers to continue to the demo RP, which the button does.

The stack is test_legal_persons' (the reference registries, `idp serve`, the demo RP)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e import test_legal_persons
from tests.e2e.conftest import _idp, urlpath
from tests.e2e.test_legal_persons import counter_registration, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect = pytest.importorskip("playwright.sync_api").expect

provider = test_legal_persons.provider
demo_rp = test_legal_persons.demo_rp


def legal_representative(provider: Any, index: int, phone: str) -> tuple[Any, Any]:
    """The `index`th active enterprise whose legal representative is alive, registered (at
    the counter) with its representative, who is given `phone`."""
    data = provider.data
    alive = {p.id_number: p for p in data.persons_with("alive")}
    represented = [e for e in data.enterprises_with("active") if e.legal_rep_id_number in alive]
    enterprise = represented[index]
    rep = counter_registration(provider, phone, alive[enterprise.legal_rep_id_number])
    _idp(
        provider.env,
        *("org", "create", "--uscc", enterprise.uscc, "--name", enterprise.name),
        *("--legal-rep-id-number", enterprise.legal_rep_id_number),
    )
    return enterprise, rep


def test_refresh_on_consent_after_act_for_and_back_after_signing_in(
    new_page: Callable[..., Any],
    provider: Any,
    demo_rp: str,
    screenshot: Callable[[Any, str], Any],
):
    enterprise, rep = legal_representative(provider, 0, "17000000821")

    page = new_page()
    page.goto(demo_rp + "/")
    page.click("#signin")
    page.wait_for_url(f"{provider.url}/login**")
    sign_in(page, rep)
    page.locator(f'input[name="act_for"][data-uscc="{enterprise.uscc}"]').check()
    page.click('button[name="decision"][value="continue"]')
    allow = page.locator('button[name="decision"][value="allow"]')
    expect(allow).to_be_visible()
    consent_url = page.url
    assert urlpath(consent_url).startswith("/signin/")

    page.reload()  # Refresh on the consent page reached after choosing the enterprise
    expect(allow).to_be_visible()
    assert page.url == consent_url
    content = page.content()
    assert "已失效" not in content and "超时" not in content and "无法完成" not in content
    screenshot(page, "consent-after-refresh.png")

    allow.click()
    page.wait_for_url(demo_rp + "/")
    expect(page.locator('td[data-claim="org"]')).to_contain_text(enterprise.uscc)

    page.go_back()  # Back from the RP to the provider's page of the finished sign-in
    expect(page.locator("h1")).to_have_text("此步骤已完成")
    assert urlpath(page.url).startswith("/signin/")
    content = page.content()
    assert "超时" not in content and "已失效" not in content
    go_on = page.locator("#continue")
    expect(go_on).to_contain_text("继续前往")
    screenshot(page, "back-after-sign-in.png")
    go_on.click()
    page.wait_for_url(demo_rp + "/")
    expect(page.locator('td[data-claim="org"]')).to_contain_text(enterprise.uscc)


def test_back_to_steps_shown_to_a_person_already_signed_in(
    new_page: Callable[..., Any], provider: Any, demo_rp: str
):
    """Signed in already, the person is not asked to sign in: the service's request goes
    straight to 请选择办事身份, then consent. Back from the service to those pages says the
    step is done; it does not send the request again (a new sign-in for the service)."""
    enterprise, rep = legal_representative(provider, 1, "17000000822")
    page = new_page()
    page.goto(provider.url + "/login")
    sign_in(page, rep)
    page.wait_for_url(f"{provider.url}/account**")

    page.goto(demo_rp + "/login")  # the service asks; the person is signed in
    page.locator(f'input[name="act_for"][data-uscc="{enterprise.uscc}"]').check()
    act_for_url = page.url
    assert urlpath(act_for_url).startswith("/signin/"), act_for_url
    page.click('button[name="decision"][value="continue"]')
    page.click('button[name="decision"][value="allow"]')
    page.wait_for_url(demo_rp + "/")
    expect(page.locator('td[data-claim="org"]')).to_contain_text(enterprise.uscc)
    codes = []
    page.on("request", lambda r: codes.append(r.url) if "/authorize" in r.url else None)

    page.go_back()  # to the act-for and consent page of the finished sign-in
    expect(page.locator("h1")).to_have_text("此步骤已完成")
    assert page.url == act_for_url and codes == []  # no new request to the provider
    expect(page.locator('input[name="act_for"]')).to_have_count(0)
    page.locator("#continue").click()
    page.wait_for_url(demo_rp + "/")
