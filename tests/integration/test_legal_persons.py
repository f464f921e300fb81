"""Legal persons: registration against the enterprise registry and the legal
representative's approval. Agents and their authorisations are tested in
test_legal_person_agents.py."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from connectors import synthetic
from idp import context
from idp.db import utcnow
from realname.agents import authorise_agent, memberships_for, org_claim
from realname.legal_persons import (
    PENDING_APPROVAL_TTL,
    pending_approvals,
    register_organization,
    reject_registration,
)
from realname.organizations import ADMIN, AGENT_SCOPES, LEGAL_REPRESENTATIVE, Membership
from tests.integration import org_support
from tests.integration.org_support import (
    ACTIVE,
    DATA,
    OTHERS,
    REVOKED,
    approve,
    events,
    new_person,
    organizations,
    refused,
    register,
    rep_of,
)

session = org_support.session  # the shared pytest fixture


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
