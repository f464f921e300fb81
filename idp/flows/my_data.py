"""The person's own data (PIPL art. 45): everything the provider holds about them, and
which service received what and when, as one document they download.

    signed in: a download asked for, with or without the current password
        --with the right password--> phone and ID number in full
        --without--> masked, as the account centre shows them
        --wrong password--> refused (counted like a wrong sign-in)
    -> audit row person:data:exported (whether in full)

The password, not the session alone, unlocks the full numbers: the file leaves our
control, and a full ID number is what an impostor at an unattended session would want
(idp/flows/reauth.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from idp import context
from idp.accounts.models import Person
from idp.accounts.sessions import SsoSession
from idp.audit import record_event
from idp.audit.events import Event
from idp.audit.models import AuditEvent
from idp.authn.devices import Device
from idp.authn.models import Consent
from idp.authn.release import scope_claims
from idp.crypto.pii import mask_id_number, mask_phone
from idp.db import Base, db, utcnow
from realname.organizations import AgentAuthorisation, Membership, Organization

MAX_EVENTS = 2000  # the newest audit rows about the person (a trail may be longer)


def export(person: Person, sso: SsoSession, *, full: bool) -> dict[str, Any]:
    """The document; `full` when the password was re-entered. Writes its audit row."""
    names = _service_names()
    document = {
        "generated_at": _iso(utcnow()),
        "identifiers_in_full": full,
        "profile": _profile(person, full),
        "sessions": [_session(s) for s in context.sessions().list_for_person(person.id)],
        "app_devices": [_device(d) for d in _rows(Device, Device.person_id == person.id)],
        "consents": [_consent(c, names) for c in _rows(Consent, Consent.person_id == person.id)],
        "organisations": _organisations(person.id),
        "services_received": _received(person.id, names),
        "account_events": _events(person.id),
    }
    record_event(
        db.session,
        Event.data_exported,
        person_id=person.id,
        channel=sso.channel,
        session_id=sso.id,
        detail={"full": full},
    )
    db.session.commit()
    return document


def _profile(person: Person, full: bool) -> dict[str, Any]:
    accounts = context.accounts()
    phone = accounts.phone(person)
    id_number = (
        accounts.sealer.open(person.id_number_sealed, f"persons|id_number|{person.id}")
        if person.id_number_sealed
        else None
    )
    return {
        "id": person.id,
        "username": person.username,
        "name": person.name,
        "phone": phone if full or not phone else mask_phone(phone),
        "phone_verified": person.phone_verified,
        "id_type": person.id_type,
        "id_number": id_number if full or not id_number else mask_id_number(id_number),
        "assurance_level": person.loa,
        "status": person.status,
        "registered_at": _iso(person.created_at),
        "closure_due_at": _iso(person.closure_due_at),
    }


def _session(s: SsoSession) -> dict[str, Any]:
    return {
        "channel": s.channel,
        "signed_in_at": _epoch(s.created_at),
        "last_active_at": _epoch(s.last_seen),
        "assurance": s.acr,
        "methods": s.amr,
        "ip": s.ip,
        "user_agent": s.user_agent,
        "device": s.device,
    }


def _device(d: Device) -> dict[str, Any]:
    return {"name": d.name, "enrolled_at": _iso(d.created_at), "last_used_at": _iso(d.last_used_at)}


def _consent(c: Consent, names: dict[str, str]) -> dict[str, Any]:
    return {
        "service": names.get(c.client_id, c.client_id),
        "client_id": c.client_id,
        "scopes": c.scopes,
        "claims": sorted((scope_claims(c.scopes) | set(c.claims or ())) - {"sub"}),
        "allowed_at": _iso(c.created_at),
        "last_used_at": _iso(c.last_used_at),
    }


def _organisations(person_id: str) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Membership, Organization)
        .join(Membership.organization)
        .where(Membership.person_id == person_id)
        .order_by(Organization.name)
    ).all()
    found = []
    for membership, organization in rows:
        authorisations = db.session.scalars(
            select(AgentAuthorisation)
            .where(AgentAuthorisation.membership_id == membership.id)
            .order_by(AgentAuthorisation.created_at)
        )
        found.append(
            {
                "name": organization.name,
                "uscc": organization.uscc,
                "role": membership.role,
                "since": _iso(membership.created_at),
                "authorisations": [
                    {
                        "scopes": a.scopes,
                        "granted_at": _iso(a.created_at),
                        "expires_at": _iso(a.expires_at),
                        "revoked_at": _iso(a.revoked_at),
                    }
                    for a in authorisations
                ],
            }
        )
    return found


def _received(person_id: str, names: dict[str, str]) -> list[dict[str, Any]]:
    """Which service was given what, and when (the authorisations granted to services)."""
    rows = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.person_id == person_id,
            AuditEvent.event == Event.authorization_granted.value,
        )
        .order_by(AuditEvent.seq.desc())
        .limit(MAX_EVENTS)
    )
    received = []
    for row in rows:
        scopes = str(row.detail.get("scope") or "").split()
        client_id = str(row.detail.get("client_id"))
        received.append(
            {
                "service": names.get(client_id, client_id),
                "client_id": client_id,
                "at": _iso(row.occurred_at),
                "channel": row.channel,
                "scopes": scopes,
                "claims": sorted(scope_claims(scopes) - {"sub"}),
            }
        )
    return received


def _events(person_id: str) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.person_id == person_id)
        .order_by(AuditEvent.seq.desc())
        .limit(MAX_EVENTS)
    )
    return [
        {"event": r.event, "at": _iso(r.occurred_at), "channel": r.channel, "ip": r.ip}
        for r in rows
    ]


def _rows(model: Any, where: Any) -> list[Any]:
    return list(db.session.scalars(select(model).where(where)))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _epoch(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _service_names() -> dict[str, str]:
    """Every service's registered name by client id (the clients table is the protocol
    side's; this reads two of its columns, as the account centre shows them)."""
    clients = Base.metadata.tables["clients"]
    return {
        row.client_id: row.name
        for row in db.session.execute(select(clients.c.client_id, clients.c.name))
    }
