"""The account centre's organisation pages (/account/organizations): registering an
enterprise and the legal representative's approval, as a browser would drive them
(forms, CSRF tokens, 303 redirects, flashed messages). Agents are in
test_organization_agent_pages.py; the rules themselves are tested in
test_legal_persons.py."""

from __future__ import annotations

import pytest

from idp import context
from idp.db import db
from realname.organizations import ADMIN, AGENT, LEGAL_REPRESENTATIVE, Membership, Organization
from tests.integration.org_pages_support import (
    PAGE,
    acts_for,
    authorise,
    browser,
    count_rows,
    flashed,
    new_account,
    organization,
    post,
    register,
    role_of,
    said,
    section,
)
from tests.integration.org_support import ACTIVE, DATA, OTHERS, rep_of


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
    assert location == f"{PAGE}#register"  # the form's own section says it
    form = section(client.get(location).get_data(as_text=True), "register")
    assert message in said(form) and 'class="error-summary" role="alert"' in form
    assert f'value="{uscc}"' in form and f'value="{name}"' in form
    assert 'aria-invalid="true"' in form and "autofocus" in form
    assert 'name="agreement" value="yes" required checked' in form
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
