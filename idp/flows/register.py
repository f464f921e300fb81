"""Citizen registration: phone + SMS code -> account at loa:2 -> (real-name step) loa:3.

    START: phone + agreement accepted
        --rate limits per phone and address--> refused, try later
        --code sent by SMS--> CODE_SENT (Redis record, 10 min; the code stored hashed)
    CODE_SENT: code + user name (optional) + password
        --wrong code--> CODE_SENT (5 tries, then the record is gone: start again)
        --user name taken--> CODE_SENT, a try used up like a wrong code (else one code
                             could test any number of user names)
        --expired--> start again
        --phone already has an account--> "sign in instead" (no second account)
        --right code--> ACCOUNT: person at loa:2, phone verified, agreement recorded,
                        signed in; the record is consumed (the code works once)
    Real-name step (account centre, any time after): realname.proofing, loa:3.

Nothing is written to the database before the code is right, and then everything is
written in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from idp import context
from idp.accounts import sms_codes
from idp.accounts.services import AccountExistsError, InvalidIdentifierError, normalise_phone
from idp.accounts.sessions import SsoSession
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn import methods
from idp.crypto.passwords import PasswordProblem, PasswordRejectedError
from idp.db import db
from realname.agreements import CURRENT, AgreementKind
from realname.models import AgreementAcceptance

KIND = "register"


class Problem(StrEnum):
    phone_format = "phone_format"
    agreement = "agreement"
    too_many_codes = "too_many_codes"
    sms_unavailable = "sms_unavailable"
    expired = "expired"
    wrong_code = "wrong_code"
    phone_taken = "phone_taken"
    username_format = "username_format"
    username_taken = "username_taken"
    password = "password"  # noqa: S105 - the name of a problem, not a secret


@dataclass(frozen=True)
class Started:
    flow_id: str


@dataclass(frozen=True)
class Refused:
    problem: Problem
    password_problem: PasswordProblem | None = None
    tries_left: int | None = None

    @classmethod
    def from_code(cls, refused: sms_codes.CodeRefused) -> Refused:
        return cls(Problem(refused.problem.value), tries_left=refused.tries_left)


@dataclass(frozen=True)
class Registered:
    token: str
    session: SsoSession


def start(phone: str, *, agreement_accepted: bool, ip: str | None) -> Started | Refused:
    """Send a registration code to `phone`."""
    try:
        phone = normalise_phone(phone)
    except InvalidIdentifierError:
        return Refused(Problem.phone_format)
    if not agreement_accepted:
        return Refused(Problem.agreement)
    sent = sms_codes.send_code(
        context.store(),
        context.connectors().sms,
        KIND,
        phone,
        ip,
        {"agreement": CURRENT[AgreementKind.person].version},
    )
    if isinstance(sent, sms_codes.CodeRefused):
        return Refused.from_code(sent)
    return Started(sent)


def confirm(
    flow_id: str,
    code: str,
    *,
    username: str | None,
    password: str,
    ip: str | None,
    user_agent: str | None,
) -> Registered | Refused:
    """Check the code and create the account, signed in."""
    store = context.store()
    record = sms_codes.check_code(store, KIND, flow_id, code)
    if isinstance(record, sms_codes.CodeRefused):
        return Refused.from_code(record)

    accounts, session = context.accounts(), db.session
    try:
        person = accounts.create_person(
            session, phone=record["phone"], password=password, username=username or None
        )
    except InvalidIdentifierError:
        session.rollback()
        return Refused(Problem.username_format)
    except AccountExistsError as exists:
        session.rollback()
        if exists.field == "phone":  # the code's own number: nothing to learn by repeating
            return Refused(Problem.phone_taken)
        charged = sms_codes.spend_try(store, KIND, flow_id)
        if charged.problem is not sms_codes.CodeProblem.wrong_code:
            return Refused.from_code(charged)  # that was the last try: no answer
        return Refused(Problem.username_taken, tries_left=charged.tries_left)
    except PasswordRejectedError as rejected:
        session.rollback()
        return Refused(Problem.password, password_problem=rejected.problem)
    if not sms_codes.consume_code(store, KIND, flow_id):  # raced in twice: once only
        session.rollback()
        return Refused(Problem.expired)

    person.phone_verified = True
    session.add(
        AgreementAcceptance(
            person_id=person.id,
            kind=AgreementKind.person.value,
            version=record["agreement"],
            channel="web",
        )
    )
    record_event(
        session,
        Event.account_registered,
        person_id=person.id,
        channel="web",
        ip=ip,
        detail={"agreement": record["agreement"], "loa": person.loa},
    )
    session.commit()
    # the SMS code to the new number is what this first session rests on
    token, sso = methods.open_session(
        context.sessions(),
        methods.evidence(person, methods.SMS_CODE),
        channel="web",
        ip=ip,
        user_agent=user_agent,
    )
    return Registered(token, sso)


def masked_phone(flow_id: str) -> str | None:
    """Where the code went (masked), from the record: never from the URL."""
    return sms_codes.masked_phone(context.store(), KIND, flow_id)
