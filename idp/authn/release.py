"""What a requester may read about a person, and whether the person agreed to it.

    asked for (scopes, claims by name) + the requester's registered scopes
        -> RELEASE: the scopes asked for and registered; the claims asked for by name
           that a registered scope covers (never the ID number); nothing else
        -> consent needed unless the requester is first-party, or a remembered consent
           covers exactly this much (forced: always asked)

Claim names are OpenID Connect's, since every protocol here maps its attributes from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.authn.models import Consent
from idp.authn.transaction import Requester

LOA_PREFIX = "urn:cn:gov:idp:loa:"
ACR_VALUES = [f"{LOA_PREFIX}{n}" for n in (2, 3, 4, 5)]

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": ("name", "preferred_username", "updated_at"),
    "phone": ("phone_number", "phone_number_verified"),
    "realname": ("name", "real_name_verified", "loa"),
    # The organisation the person acts for (legal representative, admin or agent).
    "org": ("org",),
    # The ID number itself: only for clients an administrator registered with this scope.
    "idcard": ("id_type", "id_number"),
    "offline_access": (),
}
RESTRICTED_CLAIMS = frozenset(SCOPE_CLAIMS["idcard"])


def acr_for_level(level: int) -> str:
    return f"{LOA_PREFIX}{level}"


def loa_number(acr: str) -> int:
    try:
        return int(acr.removeprefix(LOA_PREFIX)) if acr.startswith(LOA_PREFIX) else 0
    except ValueError:
        return 0


def scope_claims(scopes: Iterable[str]) -> set[str]:
    """The claims the given scopes release."""
    return {c for s in scopes for c in SCOPE_CLAIMS.get(s, ())}


def claims_by_name(names: Iterable[str] | None, registered_scopes: Iterable[str]) -> set[str]:
    """Claims a requester may ask for by name: only those that one of its registered
    scopes covers, and never the restricted ones (the ID number comes only through its
    own scope)."""
    covered = scope_claims(registered_scopes) - RESTRICTED_CLAIMS
    return {name for name in names or () if name in covered}


@dataclass(frozen=True)
class Release:
    """What the requester will be able to read if the person agrees: decided once, here,
    and shown on the consent page exactly; the protocol's answer carries nothing more."""

    scopes: list[str]  # asked for and registered for the requester
    by_name: frozenset[str]  # claims asked for by name beyond what the scopes release
    claims: frozenset[str]  # everything released: the scopes' claims and `by_name`


def release_for(requester: Requester, scopes: Iterable[str], names: Iterable[str]) -> Release:
    registered = set(requester.scopes)
    allowed = [scope for scope in scopes if scope in registered]  # in the order asked
    from_scopes = scope_claims(allowed)
    by_name = frozenset(claims_by_name(names, requester.scopes) - from_scopes)
    return Release(allowed, by_name, frozenset(from_scopes | by_name))


def needs_consent(
    session: Session, person_id: str, requester: Requester, release: Release, *, forced: bool
) -> bool:
    """A remembered consent covers what its page listed: its scopes, and the claims the
    person allowed by name. Anything more is asked again."""
    if forced:
        return True
    if requester.first_party:
        return False
    consent = remembered(session, person_id, requester.id)
    if consent is None or not set(release.scopes) <= set(consent.scopes):
        return True
    return not release.by_name <= set(consent.claims) | scope_claims(consent.scopes)


def remembered(session: Session, person_id: str, client_id: str) -> Consent | None:
    return session.scalar(
        select(Consent).where(Consent.person_id == person_id, Consent.client_id == client_id)
    )
