"""Agents (经办人) and acting for an organisation: authorisations granted by the legal
representative or an admin (matters + an end date, revocable), the "act for" choices a
person has at sign-in, and the org claim relying parties receive.

Like realname/legal_persons.py, every function takes the caller's session and never
commits; refusals are LegalPersonError with a `code`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.accounts.models import Person
from idp.audit import record_event
from idp.audit.events import Event
from idp.db import utcnow
from realname.legal_persons import LegalPersonError, membership_of, require_real_named
from realname.organizations import (
    ADMIN,
    AGENT,
    AGENT_SCOPES,
    LEGAL_REPRESENTATIVE,
    AgentAuthorisation,
    Membership,
    Organization,
)

__all__ = [
    "MAX_AUTHORISATION_YEARS",
    "OrgMembership",
    "authorise_agent",
    "memberships_for",
    "org_claim",
    "revoke_agent",
]

MAX_AUTHORISATION_YEARS = 3
MANAGERS = (LEGAL_REPRESENTATIVE, ADMIN)  # may authorise and revoke agents
REGISTRY_ACTIVE = "active"


class OrgMembership(NamedTuple):
    """One "act for" choice: the organisation, the person's role in it, and for an agent
    the authorisation that lets them act (None for the legal representative and admins)."""

    organization: Organization
    role: str
    authorisation: AgentAuthorisation | None


# -- authorisations -------------------------------------------------------------------------------
def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    wanted = {scope.strip() for scope in scopes}
    if not wanted:
        raise LegalPersonError("no_scopes")
    unknown = wanted - AGENT_SCOPES.keys()
    if unknown:
        raise LegalPersonError("unknown_scope", ", ".join(sorted(unknown)))
    return [scope for scope in AGENT_SCOPES if scope in wanted]


def _years_later(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _require_manager(session: Session, granter: Person, organization: Organization) -> None:
    if not organization.active:
        raise LegalPersonError("not_approved" if organization.pending_approval else "not_active")
    membership = membership_of(session, organization.id, granter.id)
    if not granter.active or membership is None or membership.role not in MANAGERS:
        raise LegalPersonError("not_permitted")


def authorise_agent(
    session: Session,
    granter: Person,
    organization: Organization,
    agent_person: Person,
    scopes: Iterable[str],
    expires_at: datetime,
    *,
    channel: str = "web",
    now: datetime | None = None,
) -> AgentAuthorisation:
    """Let `agent_person` act for `organization` in `scopes` until `expires_at` (at most
    three years ahead). The granter is its legal representative or an admin; the agent must
    be real-named (loa >= 3), since relying parties act on the organisation's behalf on
    their word. A new grant to the same agent replaces (revokes) their previous one."""
    now = now or utcnow()
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    _require_manager(session, granter, organization)
    clean = _clean_scopes(scopes)
    if expires_at <= now:
        raise LegalPersonError("expiry_past")
    if expires_at > _years_later(now, MAX_AUTHORISATION_YEARS):
        raise LegalPersonError("expiry_too_far")
    require_real_named(agent_person, "agent_not_real_named")

    membership = membership_of(session, organization.id, agent_person.id)
    if membership is None:
        membership = Membership(
            organization_id=organization.id, person_id=agent_person.id, role=AGENT
        )
        session.add(membership)
        session.flush()
    elif membership.role != AGENT:
        raise LegalPersonError("role_conflict")
    replaced = [a for a in membership.authorisations if a.active_at(now)]
    for previous in replaced:
        previous.revoked_at = now
    authorisation = AgentAuthorisation(
        membership=membership,
        granted_by=granter.id,
        scopes=clean,
        expires_at=expires_at,
        created_at=now,
    )
    session.add(authorisation)
    session.flush()
    record_event(
        session,
        Event.agent_authorised,
        person_id=granter.id,
        channel=channel,
        detail={
            "organization_id": organization.id,
            "uscc": organization.uscc,
            "agent_id": agent_person.id,
            "authorisation_id": authorisation.id,
            "scopes": clean,
            "expires_at": expires_at.isoformat(),
            "replaced": [previous.id for previous in replaced],
        },
    )
    return authorisation


def revoke_agent(
    session: Session,
    granter: Person,
    authorisation: AgentAuthorisation,
    *,
    channel: str = "web",
    now: datetime | None = None,
) -> None:
    """End an authorisation now. The organisation's legal representative or an admin may,
    and so may the agent themselves (giving it up)."""
    membership = authorisation.membership
    organization = membership.organization
    if membership.person_id != granter.id:
        manager = membership_of(session, organization.id, granter.id)
        if not granter.active or manager is None or manager.role not in MANAGERS:
            raise LegalPersonError("not_permitted")
    if authorisation.revoked_at is not None:
        raise LegalPersonError("already_revoked")
    authorisation.revoked_at = now or utcnow()
    session.flush()
    record_event(
        session,
        Event.agent_revoked,
        person_id=granter.id,
        channel=channel,
        detail={
            "organization_id": organization.id,
            "uscc": organization.uscc,
            "agent_id": membership.person_id,
            "authorisation_id": authorisation.id,
        },
    )


# -- acting for an organisation -----------------------------------------------------------
def memberships_for(
    session: Session, person: Person, *, now: datetime | None = None
) -> list[OrgMembership]:
    """The organisations `person` may act for now, by name: as legal representative or
    admin always, as agent only with an active authorisation. Organisations pending
    approval, or not active in the registry at the last check, are left out."""
    if not person.active:
        return []
    now = now or utcnow()
    rows = session.execute(
        select(Membership, Organization)
        .join(Membership.organization)
        .where(
            Membership.person_id == person.id,
            Organization.approved_at.is_not(None),
            Organization.status == REGISTRY_ACTIVE,
        )
        .order_by(Organization.name, Organization.uscc)
    ).all()
    agent_memberships = [m.id for m, _ in rows if m.role == AGENT]
    current: dict[str, AgentAuthorisation] = {}
    if agent_memberships:
        for found in session.scalars(
            select(AgentAuthorisation)
            .where(
                AgentAuthorisation.membership_id.in_(agent_memberships),
                AgentAuthorisation.revoked_at.is_(None),
                AgentAuthorisation.expires_at > now,
            )
            .order_by(AgentAuthorisation.created_at)
        ):
            current[found.membership_id] = found  # the newest wins
    choices = []
    for membership, organization in rows:
        authorisation = current.get(membership.id)
        if membership.role == AGENT and authorisation is None:
            continue
        choices.append(OrgMembership(organization, membership.role, authorisation))
    return choices


def org_claim(
    session: Session, person: Person, organization_id: str, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """The `org` claim for `person` acting for `organization_id`, or None when they may not
    act for it now. The legal representative and admins act in every matter, so their
    `authorised_scopes` are all of AGENT_SCOPES."""
    for choice in memberships_for(session, person, now=now):
        if choice.organization.id != organization_id:
            continue
        scopes = (
            list(choice.authorisation.scopes)
            if choice.authorisation is not None
            else list(AGENT_SCOPES)
        )
        return {
            "uscc": choice.organization.uscc,
            "name": choice.organization.name,
            "role": choice.role,
            "authorised_scopes": scopes,
        }
    return None
