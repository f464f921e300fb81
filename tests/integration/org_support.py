"""Shared set-up for the legal-person tests: the synthetic enterprises and persons, and
helpers that register, approve and inspect organisations directly (no browser)."""

from __future__ import annotations

from itertools import count

import pytest
from sqlalchemy import func, select

from connectors import synthetic
from idp import context
from idp.audit.models import AuditEvent
from idp.db import db
from realname.legal_persons import LegalPersonError, approve_registration, register_organization
from realname.organizations import Organization
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


def rep_of(enterprise: synthetic.SyntheticEnterprise) -> synthetic.SyntheticPerson:
    return BY_NUMBER[enterprise.legal_rep_id_number]


def create_person(
    session,
    phone: str,
    password: str,
    who: synthetic.SyntheticPerson | None = None,
    username: str | None = None,
):
    """A person with an account; real-named (loa 3) as `who` when given."""
    accounts = context.accounts()
    person = accounts.create_person(session, phone=phone, password=password, username=username)
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
    return person


def new_person(session, who: synthetic.SyntheticPerson | None = None):
    """A person with an account; real-named (loa 3) as `who` when given."""
    person = create_person(session, str(next(_phones)), PASSWORD, who)
    session.flush()
    return person


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
