"""A newer registration agreement than the one the person accepted: read, accept, go on.

ACCEPTING --accept--> recorded (version, channel, audit row) --> the checks go on
"""

from __future__ import annotations

from idp.accounts.sessions import SsoSession
from idp.audit import record_event
from idp.audit.events import Event
from idp.db import db
from realname import agreements
from realname.agreements import Agreement


def pending(sso: SsoSession) -> Agreement | None:
    return agreements.pending_for(db.session, sso.person_id)


def accept(sso: SsoSession, agreement: Agreement) -> None:
    agreements.accept(db.session, sso.person_id, agreement, sso.channel)
    record_event(
        db.session,
        Event.agreement_accepted,
        person_id=sso.person_id,
        channel=sso.channel,
        detail={"version": agreement.version},
    )
    db.session.commit()
