"""The account centre's organisation pages (/account/organizations): authorising and
revoking agents, and what intruders may not do, as a browser would drive them (forms,
CSRF tokens, 303 redirects, flashed messages). Registration and approval are in
test_organization_pages.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from realname.organizations import AGENT, AgentAuthorisation, Organization
from tests.integration.org_pages_support import (
    PAGE,
    acts_for,
    authorisations,
    authorise,
    browser,
    count_rows,
    flashed,
    in_a_month,
    new_account,
    organization,
    post,
    register,
)
from tests.integration.org_support import ACTIVE, OTHERS, rep_of


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
    # the readable idp_state cookie carries the notice until it is shown: no name in it
    state = client.get_cookie("idp_state").value
    assert OTHERS[0].name not in str(app.session_interface.get_signing_serializer(app).loads(state))
    assert f"已授权该经办人代表“{enterprise.name}”办理业务，有效期至 2027-03-31 23:59。" in flashed(
        client
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
