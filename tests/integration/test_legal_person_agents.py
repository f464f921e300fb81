"""Legal persons: agent authorisations and who may act for which organisation.
Registration and approval are tested in test_legal_persons.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from idp.db import utcnow
from realname.agents import authorise_agent, memberships_for, org_claim, revoke_agent
from realname.organizations import AGENT, AgentAuthorisation, Membership
from tests.integration import org_support
from tests.integration.org_support import (
    ACTIVE,
    OTHERS,
    approve,
    events,
    new_person,
    refused,
    register,
    rep_of,
)

session = org_support.session  # the shared pytest fixture


# -- agents -------------------------------------------------------------------------------
@pytest.fixture
def firm(session):
    """An approved organisation, its legal representative, and a real-named agent-to-be."""
    enterprise = ACTIVE[0]
    rep = new_person(session, rep_of(enterprise))
    organization = register(session, rep, enterprise)
    agent = new_person(session, OTHERS[2])
    session.commit()
    return organization, rep, agent


def test_an_agent_acts_only_within_scope_and_until_expiry(session, firm):
    organization, rep, agent = firm
    now = utcnow()
    expires = now + timedelta(days=90)
    grant = authorise_agent(
        session, rep, organization, agent, ["social_security", "tax", "tax"], expires, now=now
    )
    session.commit()

    assert grant.scopes == ["tax", "social_security"] and grant.active
    [choice] = memberships_for(session, agent, now=now)
    assert choice.role == AGENT and choice.authorisation.id == grant.id
    claim = org_claim(session, agent, organization.id, now=now)
    assert claim == {
        "uscc": organization.uscc,
        "name": organization.name,
        "role": AGENT,
        "authorised_scopes": ["tax", "social_security"],
    }
    after = expires + timedelta(seconds=1)
    assert memberships_for(session, agent, now=after) == []
    assert org_claim(session, agent, organization.id, now=after) is None
    [event] = events(session, "person:agent:authorised")
    assert event.person_id == rep.id and event.detail["agent_id"] == agent.id


def test_a_revoked_agent_may_no_longer_act(session, firm):
    organization, rep, agent = firm
    grant = authorise_agent(
        session, rep, organization, agent, ["tax"], utcnow() + timedelta(days=30)
    )
    session.commit()
    revoke_agent(session, rep, grant)
    session.commit()

    assert not grant.active
    assert memberships_for(session, agent) == []
    assert org_claim(session, agent, organization.id) is None
    assert refused(revoke_agent, session, rep, grant) == "already_revoked"
    assert events(session, "person:agent:revoked")[0].detail["authorisation_id"] == grant.id


def test_a_new_grant_replaces_the_previous_one(session, firm):
    organization, rep, agent = firm
    later = utcnow() + timedelta(days=30)
    first = authorise_agent(session, rep, organization, agent, ["tax"], later)
    second = authorise_agent(session, rep, organization, agent, ["housing_fund"], later)
    session.commit()
    assert first.revoked_at is not None and second.active
    assert session.scalar(select(func.count()).select_from(Membership)) == 2  # rep + agent
    claim = org_claim(session, agent, organization.id)
    assert claim is not None and claim["authorised_scopes"] == ["housing_fund"]


def test_an_agent_may_give_up_their_authorisation(session, firm):
    organization, rep, agent = firm
    grant = authorise_agent(
        session, rep, organization, agent, ["tax"], utcnow() + timedelta(days=30)
    )
    revoke_agent(session, agent, grant)
    assert memberships_for(session, agent) == []


def test_an_approved_admin_may_authorise_and_revoke_agents(session):
    enterprise = ACTIVE[1]
    admin = new_person(session, OTHERS[0])
    organization = register(session, admin, enterprise)
    approve(session, new_person(session, rep_of(enterprise)), organization)
    agent = new_person(session, OTHERS[1])
    grant = authorise_agent(
        session, admin, organization, agent, ["licences"], utcnow() + timedelta(days=1)
    )
    assert [c.role for c in memberships_for(session, agent)] == [AGENT]
    revoke_agent(session, admin, grant)
    assert memberships_for(session, agent) == []


def test_authorisation_refusals(session, firm):
    organization, rep, agent = firm
    now = utcnow()
    month = now + timedelta(days=30)
    unverified = new_person(session)
    outsider = new_person(session, OTHERS[3])

    def code(granter, person, scopes, expires):
        return refused(
            authorise_agent, session, granter, organization, person, scopes, expires, now=now
        )

    assert code(rep, unverified, ["tax"], month) == "agent_not_real_named"
    assert code(outsider, agent, ["tax"], month) == "not_permitted"
    assert code(rep, agent, [], month) == "no_scopes"
    assert code(rep, agent, ["tax", "everything"], month) == "unknown_scope"
    assert code(rep, agent, ["tax"], now - timedelta(seconds=1)) == "expiry_past"
    assert code(rep, agent, ["tax"], now + timedelta(days=3 * 366)) == "expiry_too_far"
    assert code(rep, rep, ["tax"], month) == "role_conflict"
    # Three years to the day is allowed.
    authorise_agent(
        session, rep, organization, agent, ["tax"], now.replace(year=now.year + 3), now=now
    )
    # An agent cannot pass their authorisation on, nor revoke someone else's.
    assert code(agent, outsider, ["tax"], month) == "not_permitted"
    assert session.scalar(select(func.count()).select_from(AgentAuthorisation)) == 1


def test_an_agent_cannot_revoke_another_agents_authorisation(session, firm):
    organization, rep, agent = firm
    other = new_person(session, OTHERS[3])
    month = utcnow() + timedelta(days=30)
    authorise_agent(session, rep, organization, agent, ["tax"], month)
    theirs = authorise_agent(session, rep, organization, other, ["tax"], month)
    assert refused(revoke_agent, session, agent, theirs) == "not_permitted"
    assert theirs.active


def test_nobody_acts_for_an_organisation_the_registry_no_longer_lists_as_active(session, firm):
    organization, rep, agent = firm
    authorise_agent(session, rep, organization, agent, ["tax"], utcnow() + timedelta(days=30))
    organization.status = "revoked"  # as a later registry check would record it
    session.commit()
    assert memberships_for(session, rep) == [] and memberships_for(session, agent) == []
    assert org_claim(session, rep, organization.id) is None


def test_org_claim_is_none_for_organisations_the_person_has_nothing_to_do_with(session, firm):
    organization, rep, agent = firm
    assert org_claim(session, agent, organization.id) is None
    assert org_claim(session, rep, "no-such-organisation") is None
