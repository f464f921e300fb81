"""Password sign-in: from what the person typed to an SSO session.

    identifier + password
          |
          v
    [throttled?] --yes--> BLOCKED (retry later; no password is checked)
          | no
          v
    [password good?] --no--> FAILED (count it; at the limit the account is blocked)
          | yes
          v
    SIGNED_IN: hash upgraded if needed, failures reset, new SSO session, audit row

Unknown accounts take the same path and the same time as wrong passwords: the person
sees one generic message either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from idp import context
from idp.accounts.sessions import SsoSession
from idp.accounts.throttle import account_key
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn import methods
from idp.db import db
from idp.errors import TooManyAttemptsError


class Outcome(StrEnum):
    signed_in = "signed_in"
    failed = "failed"
    blocked = "blocked"


@dataclass(frozen=True)
class LoginResult:
    outcome: Outcome
    token: str | None = None
    session: SsoSession | None = None
    retry_after: int = 0


def sign_in_with_password(
    identifier: str, password: str, *, channel: str, ip: str | None, user_agent: str | None
) -> LoginResult:
    accounts, throttle, session = context.accounts(), context.login_throttle(), db.session

    person = accounts.find_by_login(session, identifier)
    person_id = person.id if person is not None else None
    key = account_key(person_id, identifier)
    try:
        attempt = throttle.attempt(key, ip)
    except TooManyAttemptsError as blocked:
        record_event(session, Event.login_blocked, person_id=person_id, channel=channel, ip=ip)
        session.commit()
        return LoginResult(Outcome.blocked, retry_after=blocked.retry_after)

    proof = methods.password(accounts, person, password)
    if proof is None:
        now_blocked = throttle.failed(attempt)
        record_event(
            session,
            Event.login_failed,
            person_id=person_id,
            channel=channel,
            ip=ip,
            detail={"reason": "bad_credentials"},
        )
        if now_blocked:
            record_event(
                session,
                Event.account_locked,
                person_id=person_id,
                channel=channel,
                ip=ip,
                detail={"lockout_seconds": throttle.lockout},
            )
        session.commit()
        return LoginResult(Outcome.failed)

    assert person is not None
    accounts.upgrade_password_hash(person, password)
    throttle.succeeded(attempt)
    token, sso = methods.open_session(
        context.sessions(), proof, channel=channel, ip=ip, user_agent=user_agent
    )
    record_event(
        session,
        Event.login_succeeded,
        person_id=person.id,
        channel=channel,
        session_id=sso.id,
        ip=ip,
        detail={"amr": sso.amr, "acr": sso.acr},
    )
    session.commit()
    return LoginResult(Outcome.signed_in, token=token, session=sso)
