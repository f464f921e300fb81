"""Consent: what a relying party will be able to read, and whether the person agreed.

    authorization request (scope, claims) + the client's registered scopes
        -> RELEASE: the scopes asked for and registered; the claims asked for by name
           that a registered scope covers (never the ID number); nothing else
        -> [prompt=consent, or not first-party and not covered by the remembered
           consent?] --yes--> the consent page lists exactly the release
        -> allow: remembered (scopes, and the claims allowed by name) -> the code
           carries the release and nothing more

A remembered consent covers exactly what its page listed; anything more is asked again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from idp.audit import record_event
from idp.audit.events import Event
from idp.db import db, utcnow
from idp.oidc.claims import claims_by_name, parse_claims_parameter, requested_names, scope_claims
from idp.oidc.models import Client, Consent


@dataclass(frozen=True)
class Release:
    """What the RP will be able to read if the person agrees: decided once, here, and
    shown on the consent page exactly; the code carries nothing more."""

    scopes: list[str]  # asked for and registered for the client
    by_name: frozenset[str]  # claims asked for by name beyond what the scopes release
    claims: frozenset[str]  # everything released: the scopes' claims and `by_name`


def release_for(params: dict[str, str], client: Client) -> Release:
    scopes = client.get_allowed_scope(params.get("scope")).split()
    from_scopes = scope_claims(scopes)
    asked = requested_names(parse_claims_parameter(params.get("claims")))
    by_name = frozenset(claims_by_name(asked, client.scopes) - from_scopes)
    return Release(scopes, by_name, frozenset(from_scopes | by_name))


def needs_consent(params: dict[str, str], person_id: str, client: Client, release: Release) -> bool:
    """A remembered consent covers what its page listed: its scopes, and the claims the
    person allowed by name. Anything more is asked again."""
    if "consent" in params.get("prompt", "").split():
        return True
    if client.first_party:
        return False
    consent = _remembered(person_id, client.client_id)
    if consent is None or not set(release.scopes) <= set(consent.scopes):
        return True
    return not release.by_name <= set(consent.claims) | scope_claims(consent.scopes)


def remember(person_id: str, client: Client, release: Release, channel: str) -> None:
    """The person allowed `release`: add it to what they allowed this client before."""
    consent = _remembered(person_id, client.client_id)
    if consent is None:
        consent = Consent(person_id=person_id, client_id=client.client_id, scopes=[], claims=[])
        db.session.add(consent)
    consent.scopes = sorted(set(consent.scopes) | set(release.scopes))
    consent.claims = sorted(set(consent.claims or []) | release.by_name)
    consent.last_used_at = utcnow()
    record_event(
        db.session,
        Event.consent_granted,
        person_id=person_id,
        channel=channel,
        detail={"client_id": client.client_id, "scopes": consent.scopes, "claims": consent.claims},
    )
    db.session.commit()


def _remembered(person_id: str, client_id: str) -> Consent | None:
    return db.session.scalar(
        select(Consent).where(Consent.person_id == person_id, Consent.client_id == client_id)
    )
