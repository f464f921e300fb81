"""Account recovery by SMS: prove the phone, choose a new password, every session ends.

START: the account's mobile number
    --the same answer whether or not an account has that number (no enumeration)-->
    a code is texted only when there is one (rate limits as for registration)
CODE_SENT: code + new password
    --wrong / expired code--> as for registration (5 tries, 10 minutes, single use)
    --right code--> new password (NIST rules), every session of the person ends (their
                    tokens with them), any sign-in block is lifted, audit row;
                    the person signs in afresh
"""

from __future__ import annotations

from dataclasses import dataclass

from idp import context
from idp.accounts import sms_codes
from idp.accounts.services import InvalidIdentifierError, normalise_phone
from idp.accounts.throttle import account_key
from idp.audit import record_event
from idp.audit.events import Event
from idp.crypto.passwords import PasswordProblem, PasswordRejectedError
from idp.db import db
from idp.flows.logout import after_password_change

KIND = "recover"


@dataclass(frozen=True)
class Started:
    flow_id: str  # a decoy (nothing sent) when the number has no account


@dataclass(frozen=True)
class Refused:
    problem: str  # phone_format | a CodeProblem | password
    password_problem: PasswordProblem | None = None
    tries_left: int | None = None


def start(phone: str, *, ip: str | None) -> Started | Refused:
    try:
        phone = normalise_phone(phone)
    except InvalidIdentifierError:
        return Refused("phone_format")
    person = context.accounts().find_by_login(db.session, phone)
    person_id = person.id if person is not None and person.active else None
    sent = sms_codes.send_code(
        context.store(),
        context.connectors().sms,
        KIND,
        phone,
        ip,
        {"person_id": person_id},
        deliver=person_id is not None,
    )
    if isinstance(sent, sms_codes.CodeRefused):
        return Refused(sent.problem.value)
    return Started(sent)


def confirm(flow_id: str, code: str, *, password: str, ip: str | None) -> bool | Refused:
    store = context.store()
    record = sms_codes.check_code(store, KIND, flow_id, code)
    if isinstance(record, sms_codes.CodeRefused):
        return Refused(record.problem.value, tries_left=record.tries_left)
    accounts, session = context.accounts(), db.session
    person = accounts.find_by_login(session, record["phone"])
    if person is None or record["person_id"] is None or person.id != record["person_id"]:
        return Refused("expired")
    try:
        accounts.set_password(person, password)
    except PasswordRejectedError as rejected:
        session.rollback()
        return Refused("password", password_problem=rejected.problem)
    if not sms_codes.consume_code(store, KIND, flow_id):
        session.rollback()
        return Refused("expired")
    record_event(session, Event.password_reset, person_id=person.id, channel="web", ip=ip)
    session.commit()
    after_password_change(person.id, keep=None, reason="password_reset")
    context.login_throttle().unblock(account_key(person.id, record["phone"]))
    return True
