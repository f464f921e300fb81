"""Closing an account (注销), as the user agreement promises.

    ACTIVE (signed in): current password + "I understand" ticked
        --password wrong--> refused (counted like a wrong sign-in; 429 at the limit)
        --box not ticked--> refused
        --else--> CLOSING: closure_due_at = now + IDP_ACCOUNT_CLOSURE_DAYS (audit row; the
                  account's number is texted, so a closure by someone else is noticed)
    CLOSING: the account works as before; the account centre, and every sign-in through the
             form, say when it closes and offer to cancel
        --cancel (signed in)--> ACTIVE (audit row)
        --due (`idp accounts close-due`, run by cron)--> CLOSED
    CLOSED: every session ended (each RP that got tokens in one is sent a back-channel
            Logout Token), and every RP the person consented to or that holds a token of
            theirs is sent one more, for the whole account, carrying the RISC
            account-purged security event (idp/oidc/account_closed.py); every token and
            consent revoked, app devices removed, agent
            authorisations revoked; phone, ID number, user name, name and password erased,
            so the number and the ID number can register again; the person row stays as a
            tombstone (status `closed`) so that audit rows keep their reference. Audit rows
            are kept.

The password, not a recent sign-in, is asked: idp/flows/reauth.py says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from connectors.errors import ConnectorRejected, ConnectorUnavailable
from idp import context
from idp.accounts import changes
from idp.accounts.models import ACTIVE, Person
from idp.accounts.sessions import SsoSession
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn import closing
from idp.authn.devices import Device
from idp.authn.models import Consent
from idp.db import db, utcnow
from idp.flows import logout
from idp.flows.reauth import password_confirmed
from realname.organizations import AgentAuthorisation, Membership

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Requested:
    due: datetime


class Refusal:
    password = "password"  # noqa: S105 - the name of a refusal, not a secret
    not_understood = "not_understood"


def request(
    person: Person, sso: SsoSession, *, password: str, understood: bool, ip: str | None
) -> Requested | str:
    """Ask for the closure; it takes effect after the cooling-off period. A refusal is
    one of `Refusal`'s values."""
    if not password_confirmed(person, sso, password, ip, purpose="close_account"):
        return Refusal.password
    if not understood:
        return Refusal.not_understood
    days = context.settings().account_closure_days
    due = person.closure_due_at or utcnow() + timedelta(days=days)
    person.closure_due_at = due
    record_event(
        db.session,
        Event.closure_requested,
        person_id=person.id,
        channel=sso.channel,
        session_id=sso.id,
        ip=ip,
        detail={"due": due.isoformat(), "days": days},
    )
    db.session.commit()
    _tell_the_phone(person, due)
    return Requested(due)


def _tell_the_phone(person: Person, due: datetime) -> None:
    """A text to the account's number: someone who learnt the password must not close the
    account unnoticed (the cooling-off period gives the owner time to cancel)."""
    phone = context.accounts().phone(person)
    date = (due.astimezone(UTC) + timedelta(hours=8)).strftime("%Y-%m-%d")
    try:
        if phone:
            context.connectors().sms.send(phone, "closure_requested", {"date": date})
    except (ConnectorUnavailable, ConnectorRejected) as failed:
        log.warning("the closure notice was not sent: %s", failed)


def cancel(person: Person, sso: SsoSession) -> bool:
    """The person keeps the account; False when no closure was pending."""
    if person.closure_due_at is None or not person.active:
        return False
    person.closure_due_at = None
    record_event(
        db.session,
        Event.closure_cancelled,
        person_id=person.id,
        channel=sso.channel,
        session_id=sso.id,
    )
    db.session.commit()
    return True


def close_due(now: datetime | None = None) -> list[str]:
    """Close every account whose cooling-off period has ended; their ids."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Person.id).where(
            Person.closure_due_at.is_not(None),
            Person.closure_due_at <= now,
            Person.status == ACTIVE,
        )
    ).all()
    return [person_id for person_id in due if close(person_id)]


def close(person_id: str) -> bool:
    """Close the account now (its cooling-off period is over)."""
    person = db.session.get(Person, person_id)
    if person is None or not person.active:
        return False
    # Whom to tell is read before consents and tokens go; then the sessions end (each RP
    # of each session gets its Logout Token) while the person is still active.
    tell = [listener.account_closing(person_id) for listener in closing.listeners()]
    ended = logout.sign_out_everywhere(person_id, keep=None, reason="account_closed")
    consents = db.session.execute(delete(Consent).where(Consent.person_id == person_id))
    db.session.execute(delete(Device).where(Device.person_id == person_id))
    memberships = select(Membership.id).where(Membership.person_id == person_id)
    db.session.execute(
        update(AgentAuthorisation)
        .where(
            AgentAuthorisation.membership_id.in_(memberships),
            AgentAuthorisation.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    changes.erase_identifiers(person)
    person.closure_due_at = None
    record_event(
        db.session,
        Event.account_closed,
        person_id=person_id,
        detail={"sessions_ended": ended, "consents_revoked": consents.rowcount},  # type: ignore[attr-defined]
    )
    db.session.commit()
    for notice in tell:
        notice()
    return True
