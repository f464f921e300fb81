"""Changing the phone number, from the account centre.

    START (signed in): current password + new number
        --password wrong--> refused (counted like a wrong sign-in; 429 at the limit)
        --not a mobile number, or the number already on the account--> refused
        --too many codes (this person, the number, the address)--> refused, try later
        --code sent to the NEW number--> CODE_SENT (idp/accounts/code_flows.py: the step,
                                          30 min, bound to this person and this session;
                                          the code inside it, 10 min, stored hashed)
    CODE_SENT: the code
        --another person or another session--> expired (the step is not theirs)
        --wrong code--> CODE_SENT (5 tries, then the code is dead: ask for a new one)
        --new code (after the wait, within the limits)--> CODE_SENT
        --change the number--> START, the number typed again
        --right code, the number is another person's--> refused: "belongs to another
                                                        account" (whose is never said)
        --right code--> CHANGED: sealed number and blind index replaced, audit row, the OLD
                        number texted a notice; the code used up, the step kept as done
                        (Back to it says the number was changed)

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
from idp.accounts import changes, code_flows, sms_codes
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
class Refused:
    problem: Problem
    tries_left: int | None = None
    wait: int | None = None  # too_many_codes: seconds before a code can be sent again

    @classmethod
    def from_code(cls, refused: sms_codes.CodeRefused) -> Refused:
        return cls(Problem(refused.problem.value), refused.tries_left, refused.wait)


@dataclass(frozen=True)
class Changed:
    masked_phone: str


def start(
    person: Person, sso: SsoSession, *, password: str, new_phone: str, ip: str | None
) -> code_flows.Sent | Refused:
    """Check the password, then text a code to the new number."""
    if not password_confirmed(person, sso, password, ip, purpose="change_phone"):
        return Refused(Problem.password)
    try:
        phone = normalise_phone(new_phone)
    except InvalidIdentifierError:
        return Refused(Problem.phone_format)
    if context.accounts().phone(person) == phone:
        return Refused(Problem.same_number)
    if _over_person_limit(person.id):
        return Refused(Problem.too_many_codes)
    extra = {"person_id": person.id, "session_id": sso.id}
    store, sms = context.store(), context.connectors().sms
    flow = code_flows.begin(
        store, sms, KIND, phone, ip, extra, per_address=context.settings().sms_codes_per_address
    )
    if isinstance(flow, sms_codes.CodeRefused):
        return Refused.from_code(flow)
    return flow.sent


def progress(sso: SsoSession, flow_id: str) -> code_flows.Progress | None:
    """Where this session's step stands; None when there is none (or it is another's)."""
    flow = _load(sso, flow_id)
    return code_flows.progress(context.store(), flow) if flow is not None else None


def resend(sso: SsoSession, flow_id: str, ip: str | None) -> code_flows.Sent | Refused:
    """A new code to the same new number (the previous one stops working)."""
    flow = _load(sso, flow_id)
    if flow is None or flow.done:
        return Refused(Problem.expired)
    if _over_person_limit(sso.person_id):
        return Refused(Problem.too_many_codes)
    renewed = code_flows.resend(
        context.store(),
        context.connectors().sms,
        flow,
        ip,
        per_address=context.settings().sms_codes_per_address,
    )
    if isinstance(renewed, sms_codes.CodeRefused):
        return Refused.from_code(renewed)
    return renewed.sent


def change_number(sso: SsoSession, flow_id: str) -> str | None:
    """End the step; the number it was for (to type again corrected), if any."""
    return code_flows.change_number(context.store(), _load(sso, flow_id))


def confirm(person: Person, sso: SsoSession, flow_id: str, code: str) -> Changed | Refused:
    """The code sent to the new number: the number becomes the account's."""
    store, accounts = context.store(), context.accounts()
    flow = _load(sso, flow_id)
    if flow is None or flow.done:
        return Refused(Problem.expired)
    checked = code_flows.check(store, flow, code)
    if isinstance(checked, sms_codes.CodeRefused):
        return Refused.from_code(checked)
    holder = changes.phone_holder(db.session, accounts, flow.phone)
    if holder is not None and holder != person.id:
        code_flows.abandon(store, flow)  # the code proved the number; it cannot be ours
        return Refused(Problem.phone_taken)
    if not code_flows.finish(store, flow):
        return Refused(Problem.expired)  # used by a simultaneous request
    old = accounts.phone(person)
    try:
        new = changes.set_phone(db.session, accounts, person, flow.phone)
    except AccountExistsError:  # taken in the meantime
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


def _load(sso: SsoSession, flow_id: str) -> code_flows.CodeFlow | None:
    flow = code_flows.load(context.store(), KIND, flow_id)
    if flow is None:
        return None
    mine = flow.extra.get("person_id") == sso.person_id
    return flow if mine and flow.extra.get("session_id") == sso.id else None


def _over_person_limit(person_id: str) -> bool:
    return context.store().incr("change-phone-person", person_id, 3600) > PERSON_CODES_PER_HOUR


def _notify_old_number(old: str, new: str) -> None:
    """Tell the old number, so a takeover does not go unnoticed; the change stands even if
    the gateway fails (it is in the audit trail and shown in the account centre)."""
    try:
        context.connectors().sms.send(old, "phone_changed", {"phone": mask_phone(new)})
    except (ConnectorUnavailable, ConnectorRejected) as failed:
        log.warning("the old number was not told of the change: %s", failed)
