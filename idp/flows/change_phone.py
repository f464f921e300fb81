"""Changing the phone number, from the account centre.

    START (signed in): current password + new number
        --password wrong--> refused (counted like a wrong sign-in; 429 at the limit)
        --not a mobile number, or the number already on the account--> refused
        --too many codes (this person, the number, the address)--> refused, try later
        --code sent to the NEW number--> CODE_SENT (Redis, 10 min; bound to this person and
                                          this session; the code stored hashed)
    CODE_SENT: the code
        --another person or another session--> expired (the record is not theirs)
        --wrong code--> CODE_SENT (5 tries, then gone)
        --right code, the number is another person's--> refused: "belongs to another
                                                        account" (whose is never said)
        --right code--> CHANGED: sealed number and blind index replaced, audit row, the OLD
                        number texted a notice; the record consumed (the code works once)

The code proves the person holds the new number; the password proves the person at the
session is the account holder (idp/flows/reauth.py says why a password). Whether a number
is taken is told only after its code is right, so a session cannot probe numbers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from connectors.errors import ConnectorRejected, ConnectorUnavailable
from idp import context
from idp.accounts import changes, sms_codes
from idp.accounts.models import Person
from idp.accounts.services import AccountExistsError, InvalidIdentifierError, normalise_phone
from idp.accounts.sessions import SsoSession
from idp.audit import record_event
from idp.audit.events import Event
from idp.crypto.pii import mask_phone
from idp.db import db
from idp.flows.reauth import password_confirmed

KIND = "change-phone"
PERSON_CODES_PER_HOUR = 5  # beyond the per-number and per-address limits of every code
log = logging.getLogger(__name__)


class Problem(StrEnum):
    password = "password"  # noqa: S105 - the name of a problem, not a secret
    phone_format = "phone_format"
    same_number = "same_number"
    too_many_codes = "too_many_codes"
    sms_unavailable = "sms_unavailable"
    expired = "expired"
    wrong_code = "wrong_code"
    phone_taken = "phone_taken"


@dataclass(frozen=True)
class Started:
    flow_id: str
    masked_phone: str


@dataclass(frozen=True)
class Refused:
    problem: Problem
    tries_left: int | None = None

    @classmethod
    def from_code(cls, refused: sms_codes.CodeRefused) -> Refused:
        return cls(Problem(refused.problem.value), tries_left=refused.tries_left)


@dataclass(frozen=True)
class Changed:
    masked_phone: str


def start(
    person: Person, sso: SsoSession, *, password: str, new_phone: str, ip: str | None
) -> Started | Refused:
    """Check the password, then text a code to the new number."""
    if not password_confirmed(person, sso, password, ip, purpose="change_phone"):
        return Refused(Problem.password)
    try:
        phone = normalise_phone(new_phone)
    except InvalidIdentifierError:
        return Refused(Problem.phone_format)
    accounts, store = context.accounts(), context.store()
    if accounts.phone(person) == phone:
        return Refused(Problem.same_number)
    if store.incr("change-phone-person", person.id, 3600) > PERSON_CODES_PER_HOUR:
        return Refused(Problem.too_many_codes)
    extra = {"person_id": person.id, "session_id": sso.id}
    sent = sms_codes.send_code(store, context.connectors().sms, KIND, phone, ip, extra)
    if isinstance(sent, sms_codes.CodeRefused):
        return Refused.from_code(sent)
    return Started(sent, mask_phone(phone))


def pending(sso: SsoSession, flow_id: str) -> str | None:
    """The new number (masked) a code was sent to in this session, if it is still waiting."""
    record = context.store().find(KIND, flow_id)
    if record is None or not _belongs(record, sso):
        return None
    return mask_phone(record["phone"])


def confirm(person: Person, sso: SsoSession, flow_id: str, code: str) -> Changed | Refused:
    """The code sent to the new number: the number becomes the account's."""
    store = context.store()
    record = store.find(KIND, flow_id)
    if record is None or not _belongs(record, sso):
        return Refused(Problem.expired)
    checked = sms_codes.check_code(store, KIND, flow_id, code)
    if isinstance(checked, sms_codes.CodeRefused):
        return Refused.from_code(checked)
    accounts = context.accounts()
    old = accounts.phone(person)
    if not sms_codes.consume_code(store, KIND, flow_id):
        return Refused(Problem.expired)  # used by a simultaneous request
    try:
        new = changes.set_phone(db.session, accounts, person, checked["phone"])
    except AccountExistsError:
        db.session.rollback()
        return Refused(Problem.phone_taken)
    record_event(
        db.session,
        Event.phone_changed,
        person_id=person.id,
        channel=sso.channel,
        session_id=sso.id,
        detail={"old": mask_phone(old) if old else None, "new": mask_phone(new)},
    )
    db.session.commit()
    if old:
        _notify_old_number(old, new)
    return Changed(mask_phone(new))


def _belongs(record: dict[str, object], sso: SsoSession) -> bool:
    return record.get("person_id") == sso.person_id and record.get("session_id") == sso.id


def _notify_old_number(old: str, new: str) -> None:
    """Tell the old number, so a takeover does not go unnoticed; the change stands even if
    the gateway fails (it is in the audit trail and shown in the account centre)."""
    try:
        context.connectors().sms.send(old, "phone_changed", {"phone": mask_phone(new)})
    except (ConnectorUnavailable, ConnectorRejected) as failed:
        log.warning("the old number was not told of the change: %s", failed)
