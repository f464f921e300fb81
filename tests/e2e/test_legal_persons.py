"""Legal persons in a real browser (issue 4): a legal representative registers the
enterprise in the account centre and authorises an agent; the agent signs in to the demo
RP "acting for" the enterprise and the RP shows the `org` claim; the authorisation is
revoked and the agent's next sign-in no longer offers the enterprise.

The stack is test_registration's: the reference services (the enterprise registry among
them) as processes on synthetic data, and `idp serve` wired to them; the demo RP runs
beside it as in test_demo_rp. Both people are real-named at the counter
(`idp person create --name --id-number`), which checks the population registry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors import synthetic
from tests.e2e import test_registration
from tests.e2e.conftest import _idp, running_demo_rp, urlpath
from tests.e2e.test_registration import Stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect = pytest.importorskip("playwright.sync_api").expect

# The provider with the reference services (overrides the conftest's, for `new_page`).
provider = test_registration.provider

PASSWORD = "Legal-persons-e2e-2026!"
ORGS = "/account/organizations"


@dataclass(frozen=True)
class Holder:
    """A real-named person with an account, who signs in with `phone`."""

    phone: str
    person: synthetic.SyntheticPerson


def counter_registration(stack: Stack, phone: str, person: synthetic.SyntheticPerson) -> Holder:
    _idp(
        stack.env,
        *("person", "create", "--phone", phone, "--password", PASSWORD),
        *("--name", person.name, "--id-number", person.id_number, "--json"),
    )
    return Holder(phone, person)


@pytest.fixture(scope="module")
def demo_rp(provider: Stack) -> Iterator[str]:
    with running_demo_rp(provider.env) as url:
        yield url


def sign_in(page: Any, holder: Holder) -> None:
    page.fill('input[name="username"]', holder.phone)
    page.fill('input[name="password"]', PASSWORD)
    page.click('form:has(input[name="password"]) button[type="submit"]')


def claims(page: Any) -> dict[str, str]:
    return {
        cell.get_attribute("data-claim"): cell.inner_text()
        for cell in page.query_selector_all("td[data-claim]")
    }


def test_an_agent_acts_for_the_enterprise_until_revoked(
    new_page: Callable[..., Any],
    provider: Stack,
    demo_rp: str,
    screenshot: Callable[[Any, str], Path],
):
    data = provider.data
    alive = {p.id_number: p for p in data.persons_with("alive")}
    enterprise = next(e for e in data.enterprises_with("active") if e.legal_rep_id_number in alive)
    reps = {e.legal_rep_id_number for e in data.enterprises}
    agent_person = next(p for p in alive.values() if p.id_number not in reps)
    rep = counter_registration(provider, "17000000801", alive[enterprise.legal_rep_id_number])
    agent = counter_registration(provider, "17000000802", agent_person)

    # The legal representative registers the enterprise in the account centre.
    boss = new_page()
    boss.goto("/login")
    sign_in(boss, rep)
    boss.wait_for_url(f"{provider.url}/account")
    screenshot(boss, "account-organizations-link.png")
    boss.locator("#organizations").get_by_role("link", name="我的单位").click()
    boss.wait_for_url(f"{provider.url}{ORGS}")
    boss.fill('input[name="uscc"]', enterprise.uscc)
    boss.fill('input[name="name"]', enterprise.name)
    boss.check('input[name="agreement"]')
    boss.get_by_role("button", name="注册", exact=True).click()
    expect(boss.locator(".notice")).to_have_text(
        f"“{enterprise.name}”注册成功，您是该单位的法定代表人。"
    )
    mine = boss.locator(f'tr[data-org="{enterprise.uscc}"]')
    expect(mine).to_contain_text("法定代表人")

    # ... and authorises the agent for two matters.
    managed = boss.locator(f'section[data-managed="{enterprise.uscc}"]')
    managed.locator('input[name="agent"]').fill(agent.phone)
    managed.get_by_label("税务办理").check()
    managed.get_by_label("社会保险").check()
    until = managed.locator('input[name="expires_on"]').input_value()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", until)  # a year from today, suggested
    managed.get_by_role("button", name="授权", exact=True).click()
    expect(boss.locator(".notice")).to_have_text(
        f"已授权该经办人代表“{enterprise.name}”办理业务，有效期至 {until} 23:59。"
    )
    row = managed.locator('tr[data-active="yes"]')
    expect(row).to_contain_text(agent.person.name)
    expect(row).to_contain_text("税务办理、社会保险")
    assert agent.phone not in boss.content() and agent.person.id_number not in boss.content()
    screenshot(boss, "organizations-agent.png")

    # The agent signs in at the demo RP and chooses the enterprise.
    clerk = new_page()
    clerk.goto(demo_rp + "/")
    clerk.click("#signin")
    clerk.wait_for_url(f"{provider.url}/login**")
    sign_in(clerk, agent)
    choice = clerk.locator(f'input[name="act_for"][data-uscc="{enterprise.uscc}"]')
    expect(choice).to_be_visible()
    expect(clerk.locator('input[name="act_for"][value="self"]')).to_be_visible()
    choice.check()
    screenshot(clerk, "act-for.png")
    clerk.click('button[name="decision"][value="continue"]')
    clerk.click('button[name="decision"][value="allow"]')
    clerk.wait_for_url(demo_rp + "/")
    org = clerk.locator('td[data-claim="org"]')
    expect(org).to_contain_text(enterprise.uscc)
    expect(org).to_contain_text("agent")
    expect(org).to_contain_text("tax")
    screenshot(clerk, "demo-rp-org-claim.png")

    # The legal representative revokes the authorisation.
    boss.goto(ORGS)
    managed.locator('tr[data-active="yes"]').get_by_role("button", name="撤销").click()
    expect(boss.locator(".notice")).to_have_text("授权已撤销。")
    expect(managed.locator('tr[data-active="no"]')).to_contain_text("已撤销")
    expect(managed.locator('tr[data-active="yes"]')).to_have_count(0)

    # The agent's next sign-in no longer offers the enterprise.
    clerk.click("text=退出")
    clerk.wait_for_url(demo_rp + "/")
    clerk.click("#signin")
    clerk.wait_for_url(f"{provider.url}/login**")
    sign_in(clerk, agent)
    clerk.wait_for_url(lambda url: not urlpath(url).startswith("/login"))
    offered = clerk.locator(f'input[data-uscc="{enterprise.uscc}"]')
    if urlpath(clerk.url).startswith("/authorize"):  # act-for (themselves only) or consent
        expect(offered).to_have_count(0)
        if clerk.locator('button[name="decision"][value="continue"]').count():
            clerk.click('button[name="decision"][value="continue"]')
        allow = clerk.locator('button[name="decision"][value="allow"]')
        if allow.count():
            allow.click()
    clerk.wait_for_url(demo_rp + "/")
    found = claims(clerk)
    assert "org" not in found, found
    assert found["name"] == agent.person.name
    screenshot(clerk, "demo-rp-after-revoke.png")
