"""Re-entering the current password before a change that could take an account over or end
it (a new phone number, closing the account, the full identifiers in "my data").

Why the password and not "signed in within N minutes": an open session on a shared or
stolen device is exactly what these changes must not be enough for, and a password asked
on the same form needs no detour through the sign-in pages. Wrong passwords count against
the same limit as sign-in (TooManyAttemptsError once it is reached: 429)."""

from __future__ import annotations

from idp import context
from idp.accounts.models import Person
from idp.accounts.sessions import SsoSession
from idp.accounts.throttle import account_key
from idp.audit import record_event
from idp.audit.events import Event
from idp.db import db


def password_confirmed(
    person: Person, sso: SsoSession, password: str, ip: str | None, *, purpose: str
) -> bool:
    """Whether `password` is the person's; a wrong one is counted and audited, with the
    `purpose` it was asked for (`change_phone`, `close_account`, `my_data`)."""
    throttle = context.login_throttle()
    attempt = throttle.attempt(account_key(person.id, ""), ip)
    if context.accounts().check_password(person, password):
        throttle.succeeded(attempt)
        return True
    throttle.failed(attempt)
    record_event(
        db.session,
        Event.reauthentication_failed,
        person_id=person.id,
        channel=sso.channel,
        session_id=sso.id,
        ip=ip,
        detail={"for": purpose},
    )
    db.session.commit()
    return False
