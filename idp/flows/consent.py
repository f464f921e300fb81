"""Consent: the person answers the consent page of a transaction.

    CONSENTING --allow--> the release remembered (scopes, and claims allowed by name)
               |          -> READY: the protocol answers, carrying the release only
               '--deny--> refused: access_denied to the requester

What the page lists, and when it is shown at all, is idp/authn/release.py.
"""

from __future__ import annotations

from idp import context
from idp.accounts.sessions import SsoSession
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn import GONE, Halted, Outcome, Ready, Refused, Transactions, waiting
from idp.authn.models import Consent
from idp.authn.policy import Refusal
from idp.authn.release import Release, release_for, remembered
from idp.authn.transaction import Requester, State
from idp.db import db, utcnow


def decide(txn_id: str, sso: SsoSession | None, decision: str) -> Outcome:
    txns = Transactions(context.store())
    txn = waiting(txns, txn_id, State.consenting, sso)
    if isinstance(txn, Halted):
        return txn
    assert sso is not None
    if decision != "allow":
        record_event(
            db.session,
            Event.consent_denied,
            person_id=sso.person_id,
            channel=sso.channel,
            detail={"client_id": txn.requester.id},
        )
        db.session.commit()
        return Refused(txn, Refusal.access_denied, "the person declined")
    release = release_for(txn.requester, txn.scopes, txn.claims)
    remember(sso.person_id, txn.requester, release, sso.channel)
    txn.move(State.ready)
    if not txns.save(txn):  # answered by another request meanwhile: no second code
        return GONE
    return Ready(txn, sso, release)


def remember(person_id: str, requester: Requester, release: Release, channel: str) -> None:
    """The person allowed `release`: add it to what they allowed this requester before."""
    consent = remembered(db.session, person_id, requester.id)
    if consent is None:
        consent = Consent(person_id=person_id, client_id=requester.id, scopes=[], claims=[])
        db.session.add(consent)
    consent.scopes = sorted(set(consent.scopes) | set(release.scopes))
    consent.claims = sorted(set(consent.claims or []) | release.by_name)
    consent.last_used_at = utcnow()
    record_event(
        db.session,
        Event.consent_granted,
        person_id=person_id,
        channel=channel,
        detail={"client_id": requester.id, "scopes": consent.scopes, "claims": consent.claims},
    )
    db.session.commit()
