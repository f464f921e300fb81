"""The account centre's organisation pages (/account/organizations): registering an
enterprise, the legal representative's approval, authorising and revoking agents, as a
browser would drive them (forms, CSRF tokens, 303 redirects, flashed messages). The rules
themselves are tested in test_legal_persons.py."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors import synthetic
from idp import context
from idp.db import db
from realname.agents import memberships_for
from realname.organizations import (
    ADMIN,
    AGENT,
    LEGAL_REPRESENTATIVE,
    AgentAuthorisation,
    Membership,
    Organization,
)
from realname.proofing import Outcome, prove_real_name
from tests.helpers import csrf_token, sign_in

DATA = synthetic.generate()
ACTIVE = DATA.enterprises_with("active")
BY_NUMBER = {p.id_number: p for p in DATA.persons}
OTHERS = [
    p
    for p in DATA.persons_with("alive")
    if p.id_number not in {e.legal_rep_id_number for e in DATA.enterprises}
]
PAGE = "/account/organizations"
PASSWORD = "willow-ferry-2026"
_phones = count(17000000700)


@dataclass(frozen=True)
class Account:
    id: str
    phone: str
    username: str | None
    who: synthetic.SyntheticPerson | None


def new_account(app, who: synthetic.SyntheticPerson | None = None, username=None) -> Account:
    """A person who can sign in; real-named (loa 3) as `who` when given."""
    phone = str(next(_phones))
    with app.app_context():
        accounts = context.accounts()
        person = accounts.create_person(
            db.session, phone=phone, password=PASSWORD, username=username
        )
        if who is not None:
            result = prove_real_name(
                db.session,
                accounts,
                context.connectors().population,
                person,
                name=who.name,
                id_type="resident",
                id_number=who.id_number,
                channel="web",
            )
            assert result.outcome is Outcome.verified
        db.session.commit()
        return Account(person.id, phone, username, who)


def rep_of(enterprise: synthetic.SyntheticEnterprise) -> synthetic.SyntheticPerson:
    return BY_NUMBER[enterprise.legal_rep_id_number]


def browser(app, account: Account, **headers: str) -> Any:
    client = app.test_client()
    if headers:
        client.environ_base.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    assert sign_in(client, account.phone, PASSWORD).headers["Location"] == "/account"
    return client


def post(client, path: str, **data: Any):
    return client.post(path, data={"csrf_token": csrf_token(client, PAGE), **data})


def flashed(client) -> str:
    """The page after a redirect: its notices' text."""
    page = client.get(PAGE).get_data(as_text=True)
    return " ".join(
        html.unescape(m) for m in re.findall(r'class="notice[^"]*"[^>]*>([^<]*)<', page)
    )


def register(
    client,
    enterprise: synthetic.SyntheticEnterprise,
    name: str | None = None,
    agreement: str = "yes",
):
    return post(
        client,
        PAGE,
        uscc=enterprise.uscc,
        name=enterprise.name if name is None else name,
        agreement=agreement,
    )


def organization(app, uscc: str) -> Organization | None:
    with app.app_context():
        return db.session.scalar(select(Organization).where(Organization.uscc == uscc))


def count_rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def role_of(app, account: Account, uscc: str) -> str | None:
    with app.app_context():
        return db.session.scalar(
            select(Membership.role)
            .join(Membership.organization)
            .where(Membership.person_id == account.id, Organization.uscc == uscc)
        )


def authorisations(app, account: Account) -> list[AgentAuthorisation]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AgentAuthorisation)
                .join(AgentAuthorisation.membership)
                .where(Membership.person_id == account.id)
                .order_by(AgentAuthorisation.created_at)
            )
        )


def acts_for(app, account: Account) -> list[tuple[str, str]]:
    with app.app_context():
        person = context.accounts().find_by_login(db.session, account.phone)
        return [(c.organization.uscc, c.role) for c in memberships_for(db.session, person)]


def in_a_month() -> str:
    return (date.today() + timedelta(days=30)).isoformat()


def authorise(client, org_id: str, agent: str, scopes=("tax",), expires_on=None):
    return post(
        client,
        f"{PAGE}/{org_id}/agents",
        agent=agent,
        scopes=list(scopes),
        expires_on=expires_on or in_a_month(),
    )


@pytest.fixture
def registered(app):
    """ACTIVE[0] registered by its legal representative, who is signed in."""
    enterprise = ACTIVE[0]
    rep = new_account(app, rep_of(enterprise))
    client = browser(app, rep)
    assert register(client, enterprise).status_code == 303
    found = organization(app, enterprise.uscc)
    assert found is not None
    return enterprise, found, rep, client


# -- the page -----------------------------------------------------------------------------
def test_the_page_needs_a_sign_in(app):
    response = app.test_client().get(PAGE)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")


def test_the_account_centre_links_to_the_page(app):
    client = browser(app, new_account(app))
    assert f'href="{PAGE}"' in client.get("/account").get_data(as_text=True)
    page = client.get(PAGE).get_data(as_text=True)
    assert "我的单位" in page and "完成实名认证后才能注册单位" in page
    assert 'name="uscc"' not in page  # no registration form before the real name


# -- registration -------------------------------------------------------------------------
def test_the_legal_representative_registers_the_enterprise(app):
    enterprise = ACTIVE[0]
    rep = new_account(app, rep_of(enterprise))
    client = browser(app, rep)
    response = register(client, enterprise)
    assert response.status_code == 303
    assert response.headers["Location"] == f"{PAGE}#mine"
    assert f"“{enterprise.name}”注册成功，您是该单位的法定代表人。" in flashed(client)
    page = client.get(PAGE).get_data(as_text=True)
    assert f'data-org="{enterprise.uscc}" data-role="legal_representative"' in page
    assert f'data-managed="{enterprise.uscc}"' in page  # the agents section and its form
    found = organization(app, enterprise.uscc)
    assert found is not None and not found.pending_approval
    assert role_of(app, rep, enterprise.uscc) == LEGAL_REPRESENTATIVE


@pytest.mark.parametrize(
    ("uscc", "name", "message"),
    [
        (ACTIVE[0].uscc[:-1] + "0", ACTIVE[0].name, "统一社会信用代码有误：校验码不正确。"),
        (ACTIVE[0].uscc, "演示某某有限公司", "单位名称与登记信息不一致。"),
        (DATA.enterprises_with("revoked")[0].uscc, None, "该单位不是存续状态。"),
    ],
)
def test_refusals_are_explained_and_the_form_keeps_its_values(app, uscc, name, message):
    if name is None:
        name = DATA.enterprises_with("revoked")[0].name
    client = browser(app, new_account(app, rep_of(ACTIVE[0])))
    response = post(client, PAGE, agreement="yes", uscc=uscc, name=name)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(f"{PAGE}?") and location.endswith("#register")
    assert message in flashed(client)
    page = client.get(location).get_data(as_text=True)
    assert f'value="{uscc}"' in page and f'value="{name}"' in page
    assert count_rows(app, Organization) == 0


def test_refusals_speak_english_to_english_readers(app):
    client = browser(app, new_account(app, rep_of(ACTIVE[0])), accept_language="en")
    register(client, ACTIVE[0], name="演示某某有限公司")
    assert "The name does not match the registered name." in flashed(client)


def test_a_registry_outage_says_try_later_and_changes_nothing(app):
    client = browser(app, new_account(app, rep_of(ACTIVE[0])))
    with app.app_context():
        registry = context.connectors().enterprise
    registry.available = False
    try:
        assert register(client, ACTIVE[0]).status_code == 303
    finally:
        registry.available = True
    assert "企业登记系统暂时无法访问，请稍后再试。未作任何更改。" in flashed(client)
    assert count_rows(app, Organization) == 0 and count_rows(app, Membership) == 0


def test_someone_else_registers_and_the_legal_representative_approves(app):
    enterprise = ACTIVE[1]
    registrant = new_account(app, OTHERS[0])
    clerk = browser(app, registrant)
    assert register(clerk, enterprise).headers["Location"] == f"{PAGE}#waiting"
    assert "须经其法定代表人确认" in flashed(clerk)
    assert f'data-waiting="{enterprise.uscc}"' in clerk.get(PAGE).get_data(as_text=True)
    assert acts_for(app, registrant) == []

    rep = browser(app, new_account(app, rep_of(enterprise)))
    page = rep.get(PAGE).get_data(as_text=True)
    assert f'data-pending="{enterprise.uscc}"' in page and OTHERS[0].name in page
    found = organization(app, enterprise.uscc)
    approved = post(rep, f"{PAGE}/{found.id}/approve")
    assert approved.status_code == 303 and approved.headers["Location"] == f"{PAGE}#mine"
    assert f"您已确认“{enterprise.name}”的注册。" in flashed(rep)
    assert not organization(app, enterprise.uscc).pending_approval
    assert acts_for(app, registrant) == [(enterprise.uscc, ADMIN)]
    assert f'data-pending="{enterprise.uscc}"' not in rep.get(PAGE).get_data(as_text=True)

    # The admin may now authorise agents too.
    agent = new_account(app, OTHERS[1])
    assert authorise(clerk, found.id, agent.phone).status_code == 303
    assert acts_for(app, agent) == [(enterprise.uscc, AGENT)]


def test_an_approval_during_a_registry_outage_changes_nothing(app):
    enterprise = ACTIVE[1]
    register(browser(app, new_account(app, OTHERS[0])), enterprise)
    found = organization(app, enterprise.uscc)
    rep = browser(app, new_account(app, rep_of(enterprise)), accept_language="en")
    with app.app_context():
        registry = context.connectors().enterprise
    registry.available = False
    try:
        assert post(rep, f"{PAGE}/{found.id}/approve").status_code == 303
    finally:
        registry.available = True
    assert (
        "The enterprise registry is not answering; please try again later. "
        "Nothing has been changed." in flashed(rep)
    )
    assert organization(app, enterprise.uscc).pending_approval
    page = rep.get(PAGE).get_data(as_text=True)
    assert "Registrations waiting for your approval" in page and "Approve" in page


def test_the_legal_representative_rejects_a_registration(app):
    enterprise = ACTIVE[1]
    register(browser(app, new_account(app, OTHERS[0])), enterprise)
    found = organization(app, enterprise.uscc)
    rep = browser(app, new_account(app, rep_of(enterprise)))
    rejected = post(rep, f"{PAGE}/{found.id}/reject")
    assert rejected.status_code == 303
    assert f"您已拒绝“{enterprise.name}”的注册。" in flashed(rep)
    assert organization(app, enterprise.uscc) is None and count_rows(app, Membership) == 0


def test_only_the_legal_representative_approves_or_rejects(app):
    enterprise = ACTIVE[1]
    registrant = new_account(app, OTHERS[0])
    clerk = browser(app, registrant)
    register(clerk, enterprise)
    found = organization(app, enterprise.uscc)
    stranger = browser(app, new_account(app, OTHERS[1]))
    for action in ("approve", "reject"):
        for who in (clerk, stranger):
            assert post(who, f"{PAGE}/{found.id}/{action}").status_code == 303
            assert "您不是该单位的法定代表人。" in flashed(who)
    assert organization(app, enterprise.uscc).pending_approval
    assert role_of(app, registrant, enterprise.uscc) == ADMIN
    assert post(clerk, f"{PAGE}/no-such-id/approve").status_code == 303
    assert "该注册无需确认。" in flashed(clerk)


# -- agents -------------------------------------------------------------------------------
@pytest.mark.parametrize("login", ["phone", "id_number", "username"])
def test_the_legal_representative_authorises_an_agent(app, registered, login):
    enterprise, found, _rep, client = registered
    agent = new_account(app, OTHERS[0], username="clerk.zhang")
    identifier = {"phone": agent.phone, "id_number": OTHERS[0].id_number, "username": "clerk.zhang"}
    response = authorise(
        client,
        found.id,
        identifier[login],
        scopes=("tax", "social_security"),
        expires_on="2027-03-31",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"{PAGE}#org-{found.id}"
    assert (
        f"已授权 {OTHERS[0].name} 代表“{enterprise.name}”办理业务，有效期至 2027-03-31 23:59。"
        in flashed(client)
    )
    [grant] = authorisations(app, agent)
    assert grant.scopes == ["tax", "social_security"]
    # the end of that day in China (UTC+8)
    assert grant.expires_at == datetime(2027, 3, 31, 15, 59, 59, tzinfo=UTC)
    assert acts_for(app, agent) == [(enterprise.uscc, AGENT)]

    page = client.get(PAGE).get_data(as_text=True)
    assert f'data-authorisation="{grant.id}" data-active="yes"' in page
    assert "税务办理、社会保险" in page and "2027-03-31 23:59" in page
    assert OTHERS[0].id_number not in page and agent.phone not in page  # masked
    mine = browser(app, agent).get(PAGE).get_data(as_text=True)
    assert f'data-org="{enterprise.uscc}" data-role="agent"' in mine


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"scopes": ()}, "请至少选择一项授权事项。"),
        ({"scopes": ("tax", "launch_codes")}, "授权事项不正确。"),
        ({"expires_on": "not a date"}, "请选择授权截止日期。"),
        ({"expires_on": "2001-01-01"}, "授权截止时间须晚于现在。"),
        ({"expires_on": (date.today() + timedelta(days=4 * 365)).isoformat()}, "最长三年"),
        ({"agent": "17099999999"}, "未找到使用该手机号码、用户名或证件号码的账号。"),
        ({"agent": "unverified"}, "经办人须先完成实名认证。"),
        ({"agent": "self"}, "该用户已是单位的法定代表人或管理员。"),
    ],
)
def test_authorisation_refusals(app, registered, form, message):
    _enterprise, found, rep, client = registered
    new_account(app, username="unverified")
    agent = new_account(app, OTHERS[0])
    fields = {"agent": agent.phone, **form}
    fields["agent"] = {"self": rep.phone}.get(fields["agent"], fields["agent"])
    assert authorise(client, found.id, **fields).status_code == 303
    assert message in flashed(client)
    assert count_rows(app, AgentAuthorisation) == 0


def test_the_legal_representative_revokes_and_the_agent_no_longer_acts(app, registered):
    enterprise, found, _rep, client = registered
    agent = new_account(app, OTHERS[0])
    authorise(client, found.id, agent.phone)
    [grant] = authorisations(app, agent)
    response = post(client, f"{PAGE}/authorisations/{grant.id}/revoke")
    assert response.status_code == 303 and response.headers["Location"] == f"{PAGE}#org-{found.id}"
    assert "授权已撤销。" in flashed(client)
    [grant] = authorisations(app, agent)
    assert grant.revoked_at is not None
    assert acts_for(app, agent) == []
    page = client.get(PAGE).get_data(as_text=True)
    assert f'data-authorisation="{grant.id}" data-active="no"' in page and "已撤销" in page
    assert f'data-org="{enterprise.uscc}"' not in browser(app, agent).get(PAGE).get_data(
        as_text=True
    )
    again = post(client, f"{PAGE}/authorisations/{grant.id}/revoke")
    assert again.status_code == 303 and "该授权已撤销。" in flashed(client)


def test_an_agent_gives_up_their_authorisation(app, registered):
    enterprise, found, _rep, client = registered
    agent = new_account(app, OTHERS[0])
    authorise(client, found.id, agent.phone)
    [grant] = authorisations(app, agent)
    mine = browser(app, agent)
    assert post(mine, f"{PAGE}/authorisations/{grant.id}/revoke").status_code == 303
    assert f"您已不再代表“{enterprise.name}”办理业务。" in flashed(mine)
    assert acts_for(app, agent) == []


# -- attackers ----------------------------------------------------------------------------
def test_only_the_legal_representative_or_an_admin_authorises(app, registered):
    _enterprise, found, _rep, client = registered
    agent = new_account(app, OTHERS[0])
    authorise(client, found.id, agent.phone)
    someone = new_account(app, OTHERS[2])
    for intruder in (browser(app, agent), browser(app, new_account(app, OTHERS[1]))):
        # whether the account exists or not, the answer is the same: no probing for people
        for target in (someone.phone, "17099999999"):
            assert authorise(intruder, found.id, target).status_code == 303
            assert "您无权为该单位授权经办人。" in flashed(intruder)
        assert authorise(intruder, "no-such-organisation", agent.phone).status_code == 303
        assert "您无权为该单位授权经办人。" in flashed(intruder)
    assert len(authorisations(app, agent)) == 1 and count_rows(app, AgentAuthorisation) == 1


def test_only_the_legal_representative_an_admin_or_the_agent_revokes(app, registered):
    _enterprise, found, _rep, client = registered
    agent = new_account(app, OTHERS[0])
    colleague = new_account(app, OTHERS[1])
    authorise(client, found.id, agent.phone)
    authorise(client, found.id, colleague.phone)
    [grant] = authorisations(app, agent)
    # another agent of the same organisation, and a stranger
    for intruder in (browser(app, colleague), browser(app, new_account(app, OTHERS[2]))):
        assert post(intruder, f"{PAGE}/authorisations/{grant.id}/revoke").status_code == 303
        assert "您无权为该单位授权经办人。" in flashed(intruder)
    assert authorisations(app, agent)[0].revoked_at is None


def test_a_post_without_the_csrf_token_is_refused(app, registered):
    enterprise, found, _rep, client = registered
    agent = new_account(app, OTHERS[0])
    forged = {
        PAGE: {"uscc": ACTIVE[1].uscc, "name": ACTIVE[1].name},
        f"{PAGE}/{found.id}/agents": {
            "agent": agent.phone,
            "scopes": "tax",
            "expires_on": in_a_month(),
        },
    }
    for path, data in forged.items():
        response = client.post(path, data=data)
        assert response.status_code == 400
        assert "页面已过期" in response.get_data(as_text=True)
    assert count_rows(app, Organization) == 1 and count_rows(app, AgentAuthorisation) == 0

    authorise(client, found.id, agent.phone)
    [grant] = authorisations(app, agent)
    response = client.post(f"{PAGE}/authorisations/{grant.id}/revoke", data={})
    assert response.status_code == 400
    assert authorisations(app, agent)[0].revoked_at is None
    assert enterprise.uscc == found.uscc


def test_registering_needs_the_legal_person_agreement_and_records_it(app):
    from sqlalchemy import select

    from realname.models import AgreementAcceptance

    enterprise = ACTIVE[1]
    client = browser(app, new_account(app, rep_of(enterprise)))
    refused = register(client, enterprise, agreement="")
    assert refused.status_code == 303 and organization(app, enterprise.uscc) is None
    assert "请阅读并同意实名注册协议" in flashed(client)
    assert register(client, enterprise).status_code == 303
    assert organization(app, enterprise.uscc) is not None
    with app.app_context():
        kinds = set(db.session.scalars(select(AgreementAcceptance.kind)))
    assert "organization" in kinds
    page = app.test_client().get("/agreement?kind=organization").get_data(as_text=True)
    assert "法人实名注册协议" in page
