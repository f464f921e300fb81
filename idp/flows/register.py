"""Citizen registration: phone + SMS code -> account at loa:2 -> (real-name step) loa:3.

    START: phone + agreement accepted
        --rate limits per phone and address--> refused, try later
        --code sent by SMS--> CODE_SENT (Redis record, 10 min; the code stored hashed)
    CODE_SENT: code + user name (optional) + password
        --wrong code--> CODE_SENT (5 tries, then the record is gone: start again)
        --expired--> start again
        --phone already has an account--> "sign in instead" (no second account)
        --right code--> ACCOUNT: person at loa:2, phone verified, agreement recorded,
                        signed in; the record is consumed (the code works once)
    Real-name step (account centre, any time after): realname.proofing, loa:3.

Nothing is written to the database before the code is right, and then everything is
written in one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from connectors.errors import ConnectorRejected, ConnectorUnavailable
from idp import context
from idp.accounts.services import AccountExistsError, InvalidIdentifierError, normalise_phone
from idp.accounts.sessions import SsoSession
from idp.audit import record_event
from idp.crypto.passwords import PasswordProblem, PasswordRejectedError
from idp.db import db
from idp.flows.login import acr_for
from realname.agreements import CURRENT, AgreementKind
from realname.models import AgreementAcceptance

KIND = "register"
CODE_TTL = 600
CODE_DIGITS = 6
MAX_TRIES = 5
PHONE_SENDS_PER_HOUR = 5
PHONE_RESEND_AFTER = 60
ADDRESS_SENDS_PER_HOUR = 20


class State(StrEnum):
    code_sent = "code_sent"


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
    store = context.store()
    phone_key = hashlib.sha256(phone.encode()).hexdigest()[:32]
    if store.find("sms-recent", phone_key) is not None:
        return Refused(Problem.too_many_codes)
    if store.incr("sms-phone", phone_key, 3600) > PHONE_SENDS_PER_HOUR or (
        ip and store.incr("sms-address", ip, 3600) > ADDRESS_SENDS_PER_HOUR
    ):
        return Refused(Problem.too_many_codes)

    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    flow_id = secrets.token_urlsafe(16)
    try:
        context.connectors().sms.send(
            phone, "verification_code", {"code": code, "minutes": str(CODE_TTL // 60)}
        )
    except (ConnectorUnavailable, ConnectorRejected):
        return Refused(Problem.sms_unavailable)
    store.upsert("sms-recent", phone_key, {}, PHONE_RESEND_AFTER)
    store.upsert(
        KIND,
        flow_id,
        {
            "state": State.code_sent,
            "phone": phone,
            "code": _digest(flow_id, code),
            "tries": 0,
            "agreement": CURRENT[AgreementKind.person].version,
            "expires": time.time() + CODE_TTL,
        },
        CODE_TTL,
    )
    return Started(flow_id)


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
    record = store.find(KIND, flow_id)
    if record is None or record["expires"] < time.time():
        return Refused(Problem.expired)
    if not hmac.compare_digest(record["code"], _digest(flow_id, code.strip())):
        record["tries"] += 1
        if record["tries"] >= MAX_TRIES:
            store.destroy(KIND, flow_id)
            return Refused(Problem.expired)
        store.upsert(KIND, flow_id, record, max(int(record["expires"] - time.time()), 1))
        return Refused(Problem.wrong_code, tries_left=MAX_TRIES - record["tries"])

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
        return Refused(Problem.phone_taken if exists.field == "phone" else Problem.username_taken)
    except PasswordRejectedError as rejected:
        session.rollback()
        return Refused(Problem.password, password_problem=rejected.problem)
    if store.consume(KIND, flow_id) is None:  # the same code raced in twice: once only
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
        "person:account:registered",
        person_id=person.id,
        channel="web",
        ip=ip,
        detail={"agreement": record["agreement"], "loa": person.loa},
    )
    session.commit()
    token, sso = context.sessions().create(
        person_id=person.id,
        channel="web",
        amr=["sms"],
        acr=acr_for(person, 3),
        ip=ip,
        user_agent=user_agent,
    )
    return Registered(token, sso)


def masked_phone(flow_id: str) -> str | None:
    """Where the code went (masked), from the record: never from the URL."""
    record = context.store().find(KIND, flow_id)
    return None if record is None else record["phone"][:3] + "****" + record["phone"][-4:]


def _digest(flow_id: str, code: str) -> str:
    return hmac.new(flow_id.encode(), code.encode(), hashlib.sha256).hexdigest()
