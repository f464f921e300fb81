"""Organisations (legal persons) as administrators handle them: registration at the
counter on the legal representative's behalf, and the list of every organisation.

The registration rules themselves (the enterprise registry's record, the legal
representative, a code registered once) are realname.legal_persons'; this adds what the
counter needs: the legal representative is named by ID number and must already hold a
real-named account. Methods work in the caller's transaction and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.services.errors import (
    AdminError,
    ConflictError,
    InvalidInputError,
    UnavailableError,
    check_actor,
)
from connectors.enterprise import EnterpriseRegistry
from idp.accounts.models import Person
from idp.accounts.services import Accounts
from realname.identifiers import IdType, check
from realname.legal_persons import LegalPersonError, normalise_uscc, register_organization
from realname.organizations import LEGAL_REPRESENTATIVE, Membership, Organization
from realname.proofing import REAL_NAME_LOA, id_index

# Which input a refusal code of realname.legal_persons is about; any other: the code.
FIELDS = {
    "name": "name",
    "name_mismatch": "name",
    "not_legal_representative": "legal_rep_id_number",
    "account_not_active": "legal_rep_id_number",
    "real_name_required": "legal_rep_id_number",
}
CONFLICTS = frozenset({"already_registered", "pending_approval"})


@dataclass(frozen=True)
class Registered:
    organization: Organization
    legal_representative: Person
    masked_id_number: str  # the legal representative's, as it may be shown


@dataclass(frozen=True)
class OrganizationAdmin:
    accounts: Accounts
    enterprise: EnterpriseRegistry

    def register_at_counter(
        self, session: Session, *, actor: str, uscc: str, name: str, legal_rep_id_number: str
    ) -> Registered:
        """Register `uscc` under `name` for its legal representative, the holder of
        `legal_rep_id_number`. The enterprise registry must have the code, active, under
        that name, with that person as legal representative; nothing is created otherwise.
        """
        check_actor(actor)
        try:
            code = normalise_uscc(uscc)
        except LegalPersonError as exc:
            raise InvalidInputError(
                f"invalid uscc: {exc.code}", field="uscc", rule=exc.code
            ) from exc
        legal_rep, masked = self._legal_representative(session, legal_rep_id_number)
        try:
            organization = register_organization(
                session,
                self.accounts,
                self.enterprise,
                legal_rep,
                code,
                name,
                allow_pending=False,  # the counter registers for the legal representative only
                channel="counter",
                actor=actor,
            )
        except LegalPersonError as exc:
            raise _refusal(exc.code) from exc
        return Registered(organization, legal_rep, masked)

    def list_with_legal_representatives(
        self, session: Session
    ) -> list[tuple[Organization, Person | None]]:
        """Every registered organisation, oldest first, with its legal representative."""
        organizations = session.scalars(select(Organization).order_by(Organization.created_at))
        reps = {
            organization_id: person
            for organization_id, person in session.execute(
                select(Membership.organization_id, Person)
                .join(Person, Person.id == Membership.person_id)
                .where(Membership.role == LEGAL_REPRESENTATIVE)
            ).all()
        }
        return [(organization, reps.get(organization.id)) for organization in organizations]

    def _legal_representative(self, session: Session, id_number: str) -> tuple[Person, str]:
        verdict = check(IdType.RESIDENT, id_number)
        if not verdict.valid or verdict.normalised is None:
            raise InvalidInputError(
                f"invalid legal representative ID number {verdict.masked}: {verdict.rule}",
                field="legal_rep_id_number",
                rule=str(verdict.rule),
            )
        index = id_index(self.accounts, IdType.RESIDENT, verdict.normalised)
        person = session.scalar(select(Person).where(Person.id_number_index == index))
        if person is None or person.loa < REAL_NAME_LOA:
            raise InvalidInputError(
                f"no real-named account holds {verdict.masked}",
                field="legal_rep_id_number",
                rule="legal_representative_not_registered",
            )
        return person, verdict.masked


def _refusal(code: str) -> AdminError:
    message = f"registration refused: {code}"
    field = FIELDS.get(code, "uscc")
    if code == "registry_unavailable":
        return UnavailableError(message, field=field, rule=code)
    if code in CONFLICTS:
        return ConflictError(message, field=field, rule=code)
    return InvalidInputError(message, field=field, rule=code)
