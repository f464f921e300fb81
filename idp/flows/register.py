"""Citizen registration: phone + SMS code -> account at loa:2 -> (real-name step) loa:3.

    START: phone + agreement accepted (+ the sign-in it is for, if any)
        --rate limits per phone and address--> refused, with the wait
        --code sent by SMS--> CODE_SENT (idp/accounts/code_flows.py: the step, 30 min;
                              the code inside it, 10 min, stored hashed)
    CODE_SENT: code + user name (optional) + password
        --wrong code--> CODE_SENT (5 tries, then the code is dead: ask for a new one)
        --user name taken--> CODE_SENT, a try used up like a wrong code (else one code
                             could test any number of user names)
        --new code (after the wait, within the limits)--> CODE_SENT, the old code dead
        --change number--> START with the number and the agreement ticked
        --phone already has an account--> "sign in instead" (no second account)
        --right code--> DONE: person at loa:2, phone verified, agreement recorded,
                        signed in; the code is consumed (it works once); Back to the
                        step says it is done
    Real-name step (account centre, any time after): realname.proofing, loa:3.

Nothing is written to the database before the code is right, and then everything is
written in one transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

from idp import context
from idp.accounts import code_flows, sms_codes
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
class Refused:
    problem: Problem
    password_problem: PasswordProblem | None = None
    tries_left: int | None = None
    wait: int | None = None  # too_many_codes: seconds before a code can be sent

    @classmethod
    def from_code(cls, refused: sms_codes.CodeRefused) -> Refused:
        return cls(Problem(refused.problem.value), tries_left=refused.tries_left, wait=refused.wait)


@dataclass(frozen=True)
class Progress(code_flows.Progress):
    """What the code step's page shows, and the sign-in it leads back to."""

    txn: str | None  # the sign-in the registration is for


@dataclass(frozen=True)
class Registered:
    token: str
    session: SsoSession


def start(
    phone: str, *, agreement_accepted: bool, ip: str | None, txn: str | None = None
) -> code_flows.Sent | Refused:
    """Send a registration code to `phone`; `txn` is the sign-in to go back to after."""
    try:
        phone = normalise_phone(phone)
    except InvalidIdentifierError:
        return Refused(Problem.phone_format)
    if not agreement_accepted:
        return Refused(Problem.agreement)
    flow = code_flows.begin(
        context.store(),
        context.connectors().sms,
        KIND,
        phone,
        ip,
        {"agreement": CURRENT[AgreementKind.person].version, "txn": txn},
        per_address=context.settings().sms_codes_per_address,
    )
    if isinstance(flow, sms_codes.CodeRefused):
        return Refused.from_code(flow)
    return flow.sent


def progress(flow_id: str) -> Progress | None:
    """Where the step stands; None when there is no such step (or it has expired)."""
    store = context.store()
    flow = code_flows.load(store, KIND, flow_id)
    if flow is None:
        return None
    return Progress(**asdict(code_flows.progress(store, flow)), txn=flow.extra.get("txn"))


def resend(flow_id: str, *, ip: str | None) -> code_flows.Sent | Refused:
    """A new code to the same number (the rate limits of the first apply)."""
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
    """End the step; the number it was for (to be shown again in the start form), or None
    when there is no such step or it is done."""
    store = context.store()
    return code_flows.change_number(store, code_flows.load(store, KIND, flow_id))


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
    flow = code_flows.load(store, KIND, flow_id)
    if flow is None or flow.done:
        return Refused(Problem.expired)
    record = code_flows.check(store, flow, code)
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
        charged = sms_codes.spend_try(store, KIND, flow.code_id)
        if charged.problem is not sms_codes.CodeProblem.wrong_code:
            return Refused.from_code(charged)  # that was the last try: no answer
        return Refused(Problem.username_taken, tries_left=charged.tries_left)
    except PasswordRejectedError as rejected:
        session.rollback()
        return Refused(Problem.password, password_problem=rejected.problem)
    if not code_flows.finish(store, flow):  # raced in twice: once only
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
