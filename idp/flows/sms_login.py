"""Sign-in by SMS code (短信验证码登录): the account's mobile number, a code texted to it,
an SSO session (amr `sms`, at most loa:3).

START: a mobile number
    --the same answer whether or not an account has that number (no enumeration)-->
    a code is texted only when there is one (rate limits per number and address,
    idp/accounts/sms_codes.py)
CODE_SENT: the code
    --wrong--> a try used up (5, counted atomically); then the code is dead, and the
               person is given back the number they typed, to ask for a new code
    --resend (after the wait)--> CODE_SENT again, to the same number, with a new code
    --right--> the code is used up, a new SSO session, audit row; the sign-in goes back
               to the transaction that asked for it, as after a password
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from idp import context
from idp.accounts import sms_codes
from idp.accounts.models import Person
from idp.accounts.services import InvalidIdentifierError, normalise_phone
from idp.accounts.sessions import SsoSession
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn import methods
from idp.db import db

KIND = "sms-login"


@dataclass(frozen=True)
class Started:
    flow_id: str  # a decoy (nothing sent) when the number has no account


@dataclass(frozen=True)
class SignedIn:
    token: str
    session: SsoSession


@dataclass(frozen=True)
class Refused:
    problem: str  # phone_format | a CodeProblem (too_many_codes, wrong_code, expired...)
    tries_left: int | None = None
    phone: str | None = None  # the number the dead code went to: to ask for a new one


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
        per_address=context.settings().sms_codes_per_address,
    )
    if isinstance(sent, sms_codes.CodeRefused):
        return Refused(sent.problem.value)
    return Started(sent)


def sign_in(
    flow_id: str, code: str, *, channel: str, ip: str | None, user_agent: str | None
) -> SignedIn | Refused:
    store, session = context.store(), db.session
    before = store.find(KIND, flow_id)  # the last wrong try destroys it
    record = sms_codes.check_code(store, KIND, flow_id, code)
    if isinstance(record, sms_codes.CodeRefused):
        _failed(before, channel, ip, record.problem.value)
        phone = str(before["phone"]) if before else None
        return Refused(record.problem.value, tries_left=record.tries_left, phone=phone)
    person = context.accounts().find_by_login(session, record["phone"])
    if not _still_theirs(person, record) or not sms_codes.consume_code(store, KIND, flow_id):
        return Refused(sms_codes.CodeProblem.expired.value)
    assert person is not None
    token, sso = methods.open_session(
        context.sessions(),
        methods.evidence(person, methods.SMS_CODE),
        channel=channel,
        ip=ip,
        user_agent=user_agent,
    )
    record_event(
        session,
        Event.login_succeeded,
        person_id=person.id,
        channel=channel,
        session_id=sso.id,
        ip=ip,
        detail={"amr": sso.amr, "acr": sso.acr, "method": "sms"},
    )
    session.commit()
    return SignedIn(token, sso)


def resend(flow_id: str, *, ip: str | None) -> Started | Refused:
    """A new code to the number of flow `flow_id` (the old one dies with it), under the
    same limits as the first: not before the wait is over."""
    store = context.store()
    record = store.find(KIND, flow_id)
    if record is None:
        return Refused(sms_codes.CodeProblem.expired.value)
    started = start(str(record["phone"]), ip=ip)
    if isinstance(started, Started):
        store.destroy(KIND, flow_id)
    return started


def resend_in(flow_id: str) -> int:
    """Seconds until a new code may be sent for flow `flow_id` (0: now)."""
    record = context.store().find(KIND, flow_id)
    if record is None:
        return 0
    sent_at = float(record["expires"]) - sms_codes.CODE_TTL
    return max(0, int(sent_at + sms_codes.PHONE_RESEND_AFTER - time.time() + 0.999))


def phone_shown(flow_id: str) -> str | None:
    """The number the code went to, masked (it is what the person typed)."""
    return sms_codes.masked_phone(context.store(), KIND, flow_id)


def _still_theirs(person: Person | None, record: dict[str, object]) -> bool:
    """The number still names the active person it named when the code was sent (a decoy
    names nobody: its code was never sent)."""
    return (
        person is not None
        and person.active
        and record.get("person_id") is not None
        and person.id == record["person_id"]
    )


def _failed(record: dict[str, object] | None, channel: str, ip: str | None, reason: str) -> None:
    person_id = record.get("person_id") if record else None
    record_event(
        db.session,
        Event.login_failed,
        person_id=person_id if isinstance(person_id, str) else None,
        channel=channel,
        ip=ip,
        detail={"reason": reason, "method": "sms"},
    )
    db.session.commit()
