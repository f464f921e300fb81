"""Legal persons: registration against the enterprise registry, the legal representative's
approval, agent authorisations and who may act for which organisation."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import func, select

from connectors import synthetic
from idp import context
from idp.audit.models import AuditEvent
from idp.db import db, utcnow
from realname.agents import authorise_agent, memberships_for, org_claim, revoke_agent
from realname.legal_persons import (
    PENDING_APPROVAL_TTL,
    LegalPersonError,
    approve_registration,
    pending_approvals,
    register_organization,
    reject_registration,
)
from realname.organizations import (
    ADMIN,
    AGENT,
    AGENT_SCOPES,
    LEGAL_REPRESENTATIVE,
    AgentAuthorisation,
    Membership,
    Organization,
)
from realname.proofing import Outcome, prove_real_name

DATA = synthetic.generate()
ACTIVE = DATA.enterprises_with("active")
REVOKED = DATA.enterprises_with("revoked")[0]
BY_NUMBER = {p.id_number: p for p in DATA.persons}
# Living synthetic persons who represent no enterprise: registrants and agents.
OTHERS = [
    p
    for p in DATA.persons_with("alive")
    if p.id_number not in {e.legal_rep_id_number for e in DATA.enterprises}
]
PASSWORD = "orchard-lamp-2026"
_phones = count(17000000900)


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session


def new_person(session, who: synthetic.SyntheticPerson | None = None):
    """A person with an account; real-named (loa 3) as `who` when given."""
    accounts = context.accounts()
    person = accounts.create_person(session, phone=str(next(_phones)), password=PASSWORD)
    if who is not None:
        result = prove_real_name(
            session,
            accounts,
            context.connectors().population,
            person,
            name=who.name,
            id_type="resident",
            id_number=who.id_number,
            channel="web",
        )
        assert result.outcome is Outcome.verified
    session.flush()
    return person


def rep_of(enterprise: synthetic.SyntheticEnterprise) -> synthetic.SyntheticPerson:
    return BY_NUMBER[enterprise.legal_rep_id_number]


def register(session, person, enterprise, name=None, **kwargs) -> Organization:
    return register_organization(
        session,
        context.accounts(),
        context.connectors().enterprise,
        person,
        enterprise.uscc,
        enterprise.name if name is None else name,
        **kwargs,
    )


def approve(session, person, organization, **kwargs) -> Organization:
    return approve_registration(
        session,
        context.accounts(),
        context.connectors().enterprise,
        person,
        organization,
        **kwargs,
    )


def organizations(session) -> int:
    return session.scalar(select(func.count()).select_from(Organization))


def events(session, name: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(LegalPersonError) as caught:
        call(*args, **kwargs)
    return caught.value.code


# -- registration -------------------------------------------------------------------------
def test_the_legal_representative_registers_an_organisation_and_may_act_for_it(session):
    enterprise = ACTIVE[0]
    rep = new_person(session, rep_of(enterprise))
    # Full-width spaces around the name (an IME habit) are not a mismatch.
    organization = register(session, rep, enterprise, name=f"\u3000{enterprise.name} ")
    session.commit()

    assert organization.uscc == enterprise.uscc and organization.name == enterprise.name
    assert organization.status == "active" and not organization.pending_approval
    assert organization.registered_by == rep.id and organization.verified_at is not None
    [choice] = memberships_for(session, rep)
    assert choice == (organization, LEGAL_REPRESENTATIVE, None)
    assert org_claim(session, rep, organization.id) == {
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "role": LEGAL_REPRESENTATIVE,
        "authorised_scopes": list(AGENT_SCOPES),
    }
    [event] = events(session, "person:organization:registered")
    assert event.person_id == rep.id and event.detail["uscc"] == enterprise.uscc
    assert enterprise.legal_rep_id_number not in json.dumps(event.detail)


def test_a_letter_registration_authority_is_accepted(session):
    cooperative = next(e for e in ACTIVE if e.uscc.startswith("N"))
    rep = new_person(session, rep_of(cooperative))
    assert not register(session, rep, cooperative).pending_approval


def _unknown_uscc() -> str:
    first17 = "91110101" + "99990000" + synthetic.org_code_check("99990000")
    code = first17 + synthetic.uscc_check(first17)
    assert code not in {e.uscc for e in DATA.enterprises}
    return code


def _typo(code: str) -> str:
    return code[:-1] + ("1" if code[-1] != "1" else "2")


@pytest.mark.parametrize(
    ("uscc", "name", "expected"),
    [
        (_typo(ACTIVE[0].uscc), ACTIVE[0].name, "check_digit"),
        (ACTIVE[0].uscc[:-1], ACTIVE[0].name, "length"),
        (_unknown_uscc(), "演示某某有限公司", "not_found"),
        (REVOKED.uscc, REVOKED.name, "not_active"),
        (ACTIVE[0].uscc, "演示甲科技股份有限公司", "name_mismatch"),
        (ACTIVE[0].uscc, "  ", "name"),
    ],
)
def test_registry_and_format_refusals_name_the_rule_and_write_nothing(
    session, uscc, name, expected
):
    rep = new_person(session, rep_of(ACTIVE[0]))
    accounts, registry = context.accounts(), context.connectors().enterprise
    code = refused(register_organization, session, accounts, registry, rep, uscc, name)
    assert code == expected
    assert organizations(session) == 0 and not events(session, "person:organization:registered")


def test_only_real_named_persons_may_register(session):
    assert refused(register, session, new_person(session), ACTIVE[0]) == "real_name_required"
    assert organizations(session) == 0


def test_a_registry_outage_says_so_and_writes_nothing(session):
    rep = new_person(session, rep_of(ACTIVE[0]))
    context.connectors().enterprise.available = False
    try:
        assert refused(register, session, rep, ACTIVE[0]) == "registry_unavailable"
    finally:
        context.connectors().enterprise.available = True
    assert organizations(session) == 0


def test_a_code_registers_once(session):
    enterprise = ACTIVE[1]
    register(session, new_person(session, rep_of(enterprise)), enterprise)
    other = new_person(session, OTHERS[0])
    assert refused(register, session, other, enterprise) == "already_registered"
    assert organizations(session) == 1


def test_without_pending_the_registrant_must_be_the_legal_representative(session):
    other = new_person(session, OTHERS[0])
    code = refused(register, session, other, ACTIVE[0], allow_pending=False)
    assert code == "not_legal_representative" and organizations(session) == 0


# -- pending approval ---------------------------------------------------------------------
def test_someone_else_registers_and_the_legal_representative_approves(session):
    enterprise = ACTIVE[2]
    registrant = new_person(session, OTHERS[0])
    rep = new_person(session, rep_of(enterprise))
    stranger = new_person(session, OTHERS[1])

    organization = register(session, registrant, enterprise)
    assert organization.pending_approval
    assert session.scalar(select(Membership.role)) == ADMIN
    # Until approved, nobody acts for it and the registrant cannot authorise agents.
    assert memberships_for(session, registrant) == []
    assert org_claim(session, registrant, organization.id) is None
    later = utcnow() + timedelta(days=30)
    code = refused(authorise_agent, session, registrant, organization, stranger, ["tax"], later)
    assert code == "not_approved"
    # The legal representative finds it waiting, and is told so if they register it too.
    assert pending_approvals(session, rep) == [organization]
    assert pending_approvals(session, stranger) == []
    assert refused(register, session, rep, enterprise) == "pending_approval"
    assert refused(register, session, stranger, enterprise) == "already_registered"

    assert refused(approve, session, stranger, organization) == "not_legal_representative"
    assert refused(approve, session, registrant, organization) == "not_legal_representative"
    approve(session, rep, organization)
    session.commit()

    assert not organization.pending_approval
    assert [c.role for c in memberships_for(session, rep)] == [LEGAL_REPRESENTATIVE]
    assert [c.role for c in memberships_for(session, registrant)] == [ADMIN]
    assert pending_approvals(session, rep) == []
    assert refused(approve, session, rep, organization) == "not_pending"
    assert events(session, "person:organization:approved")[0].person_id == rep.id


def test_approval_asks_the_registry_again(session):
    enterprise = ACTIVE[3]
    organization = register(session, new_person(session, OTHERS[0]), enterprise)
    rep = new_person(session, rep_of(enterprise))
    context.connectors().enterprise.available = False
    try:
        assert refused(approve, session, rep, organization) == "registry_unavailable"
    finally:
        context.connectors().enterprise.available = True
    assert organization.pending_approval


def test_the_legal_representative_may_reject_a_registration(session):
    enterprise = ACTIVE[4]
    registrant = new_person(session, OTHERS[0])
    rep = new_person(session, rep_of(enterprise))
    organization = register(session, registrant, enterprise)
    assert refused(reject_registration, session, registrant, organization) == (
        "not_legal_representative"
    )
    reject_registration(session, rep, organization)
    session.commit()
    assert organizations(session) == 0
    assert session.scalar(select(func.count()).select_from(Membership)) == 0
    # The code is free again, and its legal representative registers it directly.
    assert not register(session, rep, enterprise).pending_approval


def test_an_unanswered_registration_lapses(session):
    enterprise = ACTIVE[5]
    organization = register(session, new_person(session, OTHERS[0]), enterprise)
    rep = new_person(session, rep_of(enterprise))
    session.commit()
    lapsed = utcnow() + PENDING_APPROVAL_TTL + timedelta(minutes=1)

    assert refused(approve, session, rep, organization, now=lapsed) == "approval_expired"
    assert pending_approvals(session, rep, now=lapsed) == []
    fresh = register(session, rep, enterprise, now=lapsed)
    session.commit()
    assert not fresh.pending_approval and organizations(session) == 1
    assert [c.role for c in memberships_for(session, rep)] == [LEGAL_REPRESENTATIVE]


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
