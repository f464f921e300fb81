"""Account recovery by SMS: prove the phone, choose a new password, every session ends.

START: the account's mobile number
    --the same answer whether or not an account has that number (no enumeration)-->
    a code is texted only when there is one (rate limits as for registration)
CODE_SENT: code + new password (idp/accounts/code_flows.py: the step outlives its codes)
    --wrong / expired code--> as for registration (5 tries, 10 minutes, single use);
                              a dead code leaves the step waiting for a new one
    --new code (after the wait, within the limits)--> CODE_SENT; for a number without
                              an account, a decoy again: nothing sent, all else alike
    --change number--> START with the number to correct
    --right code--> DONE: new password (NIST rules), every session of the person ends
                    (their tokens with them), any sign-in block is lifted, audit row;
                    the person signs in afresh; Back to the step says it is done
"""

from __future__ import annotations

from dataclasses import dataclass

from idp import context
from idp.accounts import code_flows, sms_codes
from idp.accounts.services import InvalidIdentifierError, normalise_phone
from idp.accounts.throttle import account_key
from idp.audit import record_event
from idp.audit.events import Event
from idp.crypto.passwords import PasswordProblem, PasswordRejectedError
from idp.db import db
from idp.flows.logout import after_password_change

KIND = "recover"


@dataclass(frozen=True)
class Refused:
    problem: str  # phone_format | a CodeProblem | password
    password_problem: PasswordProblem | None = None
    tries_left: int | None = None
    wait: int | None = None  # too_many_codes: seconds before a code can be sent

    @classmethod
    def from_code(cls, refused: sms_codes.CodeRefused) -> Refused:
        return cls(refused.problem.value, tries_left=refused.tries_left, wait=refused.wait)


def start(phone: str, *, ip: str | None) -> code_flows.Sent | Refused:
    try:
        phone = normalise_phone(phone)
    except InvalidIdentifierError:
        return Refused("phone_format")
    person = context.accounts().find_by_login(db.session, phone)
    person_id = person.id if person is not None and person.active else None
    flow = code_flows.begin(
        context.store(),
        context.connectors().sms,
        KIND,
        phone,
        ip,
        {"person_id": person_id},
        deliver=person_id is not None,
        per_address=context.settings().sms_codes_per_address,
    )
    if isinstance(flow, sms_codes.CodeRefused):
        return Refused.from_code(flow)
    return flow.sent


def progress(flow_id: str) -> code_flows.Progress | None:
    """Where the step stands (a decoy's alike); None when there is none (or it expired)."""
    store = context.store()
    flow = code_flows.load(store, KIND, flow_id)
    return code_flows.progress(store, flow) if flow is not None else None


def resend(flow_id: str, *, ip: str | None) -> code_flows.Sent | Refused:
    """A new code (a decoy's is not sent), under the limits of the first."""
    store = context.store()
    flow = code_flows.load(store, KIND, flow_id)
    renewed = code_flows.resend(
        store,
        context.connectors().sms,
        flow,
        ip,
        per_address=context.settings().sms_codes_per_address,
    )
    if isinstance(renewed, sms_codes.CodeRefused):
        return Refused.from_code(renewed)
    return renewed.sent


def change_number(flow_id: str) -> str | None:
    """End the step; the number it was for, to correct in the start form."""
    store = context.store()
    return code_flows.change_number(store, code_flows.load(store, KIND, flow_id))


def confirm(flow_id: str, code: str, *, password: str, ip: str | None) -> bool | Refused:
    store = context.store()
    flow = code_flows.load(store, KIND, flow_id)
    if flow is None or flow.done:
        return Refused(sms_codes.CodeProblem.expired.value)
    record = code_flows.check(store, flow, code)
    if isinstance(record, sms_codes.CodeRefused):
        return Refused.from_code(record)
    accounts, session = context.accounts(), db.session
    person = accounts.find_by_login(session, record["phone"])
    if person is None or record["person_id"] is None or person.id != record["person_id"]:
        return Refused("expired")
    try:
        accounts.set_password(person, password)
    except PasswordRejectedError as rejected:
        session.rollback()
        return Refused("password", password_problem=rejected.problem)
    if not code_flows.finish(store, flow):
        session.rollback()
        return Refused("expired")
    record_event(session, Event.password_reset, person_id=person.id, channel="web", ip=ip)
    session.commit()
    after_password_change(person.id, keep=None, reason="password_reset")
    context.login_throttle().unblock(account_key(person.id, record["phone"]))
    return True
