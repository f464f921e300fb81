"""Person accounts as administrators handle them: counter registration (柜面注册), the
in-person check of a certificate (柜面核验, level 5) and lifting a sign-in block.

Every method works in the caller's transaction and never commits; a refusal is an
`AdminError` after which the caller rolls back, so nothing it wrote (the account, a
registry check's audit row) survives.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from admin.services.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    UnavailableError,
    check_actor,
)
from connectors.population import PopulationRegistry
from idp.accounts.models import Person
from idp.accounts.services import AccountExistsError, Accounts, InvalidIdentifierError
from idp.accounts.throttle import LoginThrottle, account_key
from idp.audit import record_event
from idp.audit.events import Event
from idp.crypto.passwords import PasswordRejectedError
from realname.identifiers import mask
from realname.proofing import Outcome, ProofingResult, prove_real_name

IN_PERSON_LOA = 5  # 柜面核验: staff saw the person and the certificate
COUNTER = "counter"  # the channel of everything done at a service window


@dataclass(frozen=True)
class PersonAdmin:
    accounts: Accounts
    population: PopulationRegistry
    throttle: LoginThrottle

    def register_at_counter(
        self,
        session: Session,
        *,
        actor: str,
        phone: str,
        password: str,
        username: str | None = None,
        name: str | None = None,
        id_type: str = "resident",
        id_number: str | None = None,
    ) -> Person:
        """Create a person whose phone staff have seen (level 2). With `id_number` (and
        `name`, which it needs) the identity is checked against the population registry
        and the person starts real-named (level 3); a refused check creates no one."""
        check_actor(actor)
        if id_number and not name:
            raise InvalidInputError(
                "an ID number needs the name on the certificate", field="name", rule="required"
            )
        try:
            person = self.accounts.create_person(
                session,
                username=username,
                phone=phone,
                password=password,
                name=None if id_number else name,  # a claimed name is set by the check only
            )
        except InvalidIdentifierError as exc:
            raise InvalidInputError(
                f"invalid {exc.field}: {exc.rule}", field=exc.field, rule=exc.rule
            ) from exc
        except AccountExistsError as exc:
            raise ConflictError(
                f"a person with this {exc.field} already exists", field=exc.field, rule="exists"
            ) from exc
        except PasswordRejectedError as exc:
            raise InvalidInputError(
                f"password refused: {exc.problem}", field="password", rule=str(exc.problem)
            ) from exc
        person.phone_verified = True  # shown at the counter
        if id_number and name:
            self._prove(session, person, name=name, id_type=id_type, id_number=id_number)
        record_event(
            session,
            Event.person_created,
            person_id=person.id,
            actor=actor,
            channel=COUNTER,
            detail={"loa": person.loa},
        )
        return person

    def verify_in_person(
        self,
        session: Session,
        account: str,
        *,
        actor: str,
        name: str,
        id_number: str,
        id_type: str = "resident",
    ) -> Person:
        """Record that counter staff checked `account`'s certificate in person: the
        identity must match the population registry, and the person reaches level 5."""
        check_actor(actor)
        person = self._find(session, account)
        self._prove(session, person, name=name, id_type=id_type, id_number=id_number)
        person.loa = IN_PERSON_LOA
        record_event(
            session,
            Event.person_verified_in_person,
            person_id=person.id,
            actor=actor,
            channel=COUNTER,
            detail={"loa": IN_PERSON_LOA},
        )
        return person

    def unlock(self, session: Session, identifier: str, *, actor: str) -> Person:
        """Lift the sign-in block on the account `identifier` (user name, phone or ID
        number). The audit row is written first: if Redis does not answer, the caller's
        rollback leaves no row claiming an unlock that did not happen."""
        check_actor(actor)
        person = self._find(session, identifier)
        record_event(
            session, Event.person_unlocked, person_id=person.id, actor=actor, channel="admin"
        )
        self.throttle.unblock(account_key(person.id, identifier))
        return person

    def masked_id_number(self, person: Person) -> str | None:
        """The person's certificate number as pages and listings may show it."""
        if person.id_number_sealed is None or person.id_type is None:
            return None
        number = self.accounts.sealer.open(
            person.id_number_sealed, f"persons|id_number|{person.id}"
        )
        return mask(person.id_type, number)

    # -- steps --------------------------------------------------------------------------
    def _find(self, session: Session, identifier: str) -> Person:
        person = self.accounts.find_by_login(session, identifier)
        if person is None:
            raise NotFoundError("no such person", field="account", rule="unknown")
        return person

    def _prove(
        self, session: Session, person: Person, *, name: str, id_type: str, id_number: str
    ) -> None:
        """The registry check, without daily limits: at the counter staff hold the card."""
        result = prove_real_name(
            session,
            self.accounts,
            self.population,
            person,
            name=name,
            id_type=id_type,
            id_number=id_number,
            channel=COUNTER,
        )
        if result.outcome is not Outcome.verified:
            raise _refusal(result)


def _refusal(result: ProofingResult) -> InvalidInputError | ConflictError | UnavailableError:
    message = f"real-name check refused: {result.outcome}" + (
        f" ({result.rule})" if result.rule else ""
    )
    rule = result.rule or str(result.outcome)
    if result.outcome is Outcome.unavailable:
        return UnavailableError(message, field="id_number", rule=rule)
    if result.outcome is Outcome.identity_taken:
        return ConflictError(message, field="id_number", rule=rule)
    return InvalidInputError(message, field="id_number", rule=rule)
