"""The organisation page's forms say what happened in their own section, where the page
lands after the redirect: a refusal at the top of the form and next to its field (marked,
described, focused), with what was typed kept; a success in its own words; shown once."""

from __future__ import annotations

import pytest

from realname.organizations import AgentAuthorisation
from tests.integration.org_pages_support import (
    PAGE,
    authorise,
    browser,
    count_rows,
    in_a_month,
    new_account,
    organization,
    register,
    said,
    section,
)
from tests.integration.org_support import ACTIVE, OTHERS, rep_of
from tests.integration.pages_register.support import tag


@pytest.fixture
def managed(app):
    """ACTIVE[0] registered by its legal representative, signed in: (org id, browser)."""
    client = browser(app, new_account(app, rep_of(ACTIVE[0])))
    assert register(client, ACTIVE[0]).status_code == 303
    client.get(PAGE)  # the registration's own notice, shown
    return organization(app, ACTIVE[0].uscc).id, client


def test_an_unknown_agent_is_said_next_to_the_field_with_the_form_kept(app, managed):
    org_id, client = managed
    response = authorise(
        client, org_id, "17000000999", scopes=("tax", "social_security"), expires_on=in_a_month()
    )
    assert response.headers["Location"] == f"{PAGE}#org-{org_id}"
    page = client.get(PAGE).get_data(as_text=True)
    form = section(page, f"org-{org_id}")
    assert 'class="error-summary" role="alert"' in form
    assert said(form).count("未找到使用该手机号码、用户名或证件号码的账号") == 2
    agent = tag(form, f"agent-{org_id}")
    assert 'value="17000000999"' in agent and 'aria-invalid="true"' in agent
    assert f'aria-describedby="agent-{org_id}-error"' in agent and "autofocus" in agent
    assert f'value="{in_a_month()}"' in tag(form, f"expires-{org_id}")
    assert 'value="tax" checked' in form and 'value="social_security" checked' in form
    assert 'value="housing_fund" checked' not in form
    assert "error-summary" not in section(page, "mine") + section(page, "register")
    again = client.get(PAGE).get_data(as_text=True)  # Refresh: said once
    assert "error-summary" not in again and "17000000999" not in again
    assert count_rows(app, AgentAuthorisation) == 0


def test_no_matter_chosen_is_said_at_the_matters_with_the_agent_kept(app, managed):
    org_id, client = managed
    agent = new_account(app, OTHERS[0])
    authorise(client, org_id, agent.phone, scopes=())
    form = section(client.get(PAGE).get_data(as_text=True), f"org-{org_id}")
    assert f'id="scopes-{org_id}-error"' in form and "请至少选择一项授权事项" in form
    assert f'aria-describedby="scopes-{org_id}-error"' in form
    first = tag(form, f"scopes-{org_id}")
    assert 'aria-invalid="true"' in first and "autofocus" in first
    assert f'value="{agent.phone}"' in tag(form, f"agent-{org_id}")
    assert "aria-invalid" not in tag(form, f"agent-{org_id}")


def test_a_bad_date_is_said_next_to_the_date(app, managed):
    org_id, client = managed
    agent = new_account(app, OTHERS[1])
    authorise(client, org_id, agent.phone, expires_on="2001-01-01")
    form = section(client.get(PAGE).get_data(as_text=True), f"org-{org_id}")
    field = tag(form, f"expires-{org_id}")
    assert 'aria-invalid="true"' in field and 'value="2001-01-01"' in field
    assert "授权截止时间须晚于现在" in said(form)


def test_a_success_is_said_in_the_section_the_page_lands_on(app, managed):
    org_id, client = managed
    agent = new_account(app, OTHERS[2])
    response = authorise(client, org_id, agent.phone, expires_on="2027-03-31")
    assert response.headers["Location"] == f"{PAGE}#org-{org_id}"
    form = section(client.get(PAGE).get_data(as_text=True), f"org-{org_id}")
    assert 'class="notice notice-info" role="status"' in form
    assert "有效期至 2027-03-31 23:59" in said(form)
    assert "error-summary" not in form and agent.phone not in form  # the form is fresh


def test_a_refusal_for_a_section_not_on_the_page_is_said_at_the_top(app, managed):
    org_id, _client = managed
    stranger = browser(app, new_account(app, OTHERS[3]))
    agent = new_account(app, OTHERS[4])
    authorise(stranger, org_id, agent.phone)
    page = stranger.get(PAGE).get_data(as_text=True)
    assert f'id="org-{org_id}"' not in page
    assert "您无权为该单位授权经办人" in said(section(page, "mine"))
    assert count_rows(app, AgentAuthorisation) == 0


def test_an_unticked_agreement_is_said_next_to_the_box(app):
    client = browser(app, new_account(app, rep_of(ACTIVE[1])))
    register(client, ACTIVE[1], agreement="")
    form = section(client.get(PAGE).get_data(as_text=True), "register")
    box = tag(form, "org-agreement")
    assert 'aria-invalid="true"' in box and "checked" not in box and "autofocus" in box
    assert f'value="{ACTIVE[1].uscc}"' in form and f'value="{ACTIVE[1].name}"' in form
    assert organization(app, ACTIVE[1].uscc) is None


def test_the_forms_still_need_their_csrf_token(app, managed):
    org_id, client = managed
    agent = new_account(app, OTHERS[5])
    refused = client.post(
        f"{PAGE}/{org_id}/agents",
        data={"agent": agent.phone, "scopes": ["tax"], "expires_on": in_a_month()},
    )
    assert refused.status_code == 400 and count_rows(app, AgentAuthorisation) == 0
    typed = {"uscc": ACTIVE[2].uscc, "name": ACTIVE[2].name, "agreement": "yes"}
    assert client.post(PAGE, data=typed).status_code == 400
    assert organization(app, ACTIVE[2].uscc) is None
