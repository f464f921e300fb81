"""Legal persons: registering an organisation by its USCC, the legal representative's
approval, agent authorisations, and who may act for which organisation.

Every function takes the caller's SQLAlchemy session and never commits. A refusal is a
`LegalPersonError` whose `code` names the broken rule; the caller then rolls back (after
`already_registered` it must, since the session saw a failed insert).

Registration (the registry is always asked first, so that only someone who knows both the
code and the exact registered name learns whether it is already here):

    person (loa >= 3) --register--> registry: active, same name?
        registrant is the legal representative --> Organization (approved) + membership
                                                    legal_representative
        anyone else (loa >= 3)                  --> Organization pending approval +
                                                    membership admin (inert until approval)
    pending --legal representative approves--> approved (registry asked again)
    pending --legal representative rejects---> deleted
    pending, 30 days without an answer       --> lapsed: anyone may register the code anew

A pending registration blocks the code for others, but never for long and never for the
legal representative, who can approve or reject it (code `pending_approval` tells them).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.enterprise import EnterpriseRecord, EnterpriseRegistry
from connectors.errors import ConnectorRejected, ConnectorUnavailable
from idp.accounts.models import Person
from idp.accounts.services import Accounts
from idp.audit import record_event
from idp.db import utcnow
from realname.identifiers import IdType, check, normalise
from realname.organizations import (
    ADMIN,
    AGENT,
    AGENT_SCOPES,
    LEGAL_REPRESENTATIVE,
    AgentAuthorisation,
    Membership,
    Organization,
)
from realname.proofing import REAL_NAME_LOA, id_index

__all__ = [
    "ERROR_MESSAGES",
    "MAX_AUTHORISATION_YEARS",
    "PENDING_APPROVAL_TTL",
    "LegalPersonError",
    "OrgMembership",
    "approve_registration",
    "authorise_agent",
    "memberships_for",
    "normalise_uscc",
    "org_claim",
    "pending_approvals",
    "register_organization",
    "reject_registration",
    "revoke_agent",
]

MAX_NAME = 200
MAX_AUTHORISATION_YEARS = 3
PENDING_APPROVAL_TTL = timedelta(days=30)
MANAGERS = (LEGAL_REPRESENTATIVE, ADMIN)  # may authorise and revoke agents
REGISTRY_ACTIVE = "active"

# (zh, en) for the codes below; USCC format codes are realname.identifiers.RULE_MESSAGES.
ERROR_MESSAGES: dict[str, tuple[str, str]] = {
    "name": ("请填写单位名称", "enter the organisation's name"),
    "account_not_active": ("账户已停用", "this account is not active"),
    "real_name_required": ("请先完成实名认证", "verify your real name first"),
    "registry_unavailable": (
        "企业登记系统暂时无法访问，请稍后再试",
        "the enterprise registry is not answering; please try again later",
    ),
    "registry_rejected": ("企业登记系统拒绝了该查询", "the enterprise registry refused the query"),
    "not_found": ("登记系统中没有该统一社会信用代码", "the registry has no such credit code"),
    "not_active": ("该单位不是存续状态", "the organisation is not active in the registry"),
    "name_mismatch": (
        "单位名称与登记信息不一致",
        "the name does not match the registered name",
    ),
    "already_registered": ("该单位已注册", "this organisation is already registered"),
    "pending_approval": (
        "该单位的注册正等待您（法定代表人）确认",
        "a registration of this organisation is waiting for your approval",
    ),
    "not_legal_representative": (
        "您不是该单位的法定代表人",
        "you are not the organisation's legal representative",
    ),
    "not_pending": ("该注册无需确认", "this registration is not waiting for approval"),
    "approval_expired": ("该注册申请已过期", "this registration request has lapsed"),
    "not_approved": (
        "该单位的注册尚未经法定代表人确认",
        "the legal representative has not approved this registration yet",
    ),
    "not_permitted": ("您无权为该单位授权经办人", "you may not authorise agents for it"),
    "agent_not_real_named": ("经办人须先完成实名认证", "the agent must verify their real name"),
    "role_conflict": (
        "该用户已是单位的法定代表人或管理员",
        "this person is already the legal representative or an admin",
    ),
    "no_scopes": ("请至少选择一项授权事项", "choose at least one matter"),
    "unknown_scope": ("授权事项不正确", "unknown matter"),
    "expiry_past": ("授权截止时间须晚于现在", "the authorisation must end in the future"),
    "expiry_too_far": ("授权期限最长三年", "an authorisation lasts at most three years"),
    "already_revoked": ("该授权已撤销", "this authorisation was already revoked"),
}


class LegalPersonError(Exception):
    """A refusal; `code` is a USCC format rule (realname.identifiers.Rule) or a key of
    ERROR_MESSAGES."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class OrgMembership(NamedTuple):
    """One "act for" choice: the organisation, the person's role in it, and for an agent
    the authorisation that lets them act (None for the legal representative and admins)."""

    organization: Organization
    role: str
    authorisation: AgentAuthorisation | None


# -- registration -------------------------------------------------------------------------
def normalise_uscc(raw: str) -> str:
    """The code as GB 32100 writes it; LegalPersonError(rule) when it breaks a format rule."""
    verdict = check(IdType.USCC, raw)
    if not verdict.valid or verdict.normalised is None:
        raise LegalPersonError(str(verdict.rule))
    return verdict.normalised


def _clean_name(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def _require_real_named(person: Person, code: str = "real_name_required") -> None:
    if not person.active:
        raise LegalPersonError("account_not_active")
    if person.loa < REAL_NAME_LOA or person.id_number_index is None:
        raise LegalPersonError(code)


def _lookup(registry: EnterpriseRegistry, uscc: str) -> EnterpriseRecord:
    try:
        record = registry.lookup(uscc)
    except ConnectorUnavailable as exc:
        raise LegalPersonError("registry_unavailable", str(exc)) from exc
    except ConnectorRejected as exc:
        raise LegalPersonError("registry_rejected", exc.code) from exc
    if record is None:
        raise LegalPersonError("not_found")
    if not record.active:
        raise LegalPersonError("not_active", record.status)
    return record


def _lapsed(organization: Organization, now: datetime) -> bool:
    """A registration nobody approved within PENDING_APPROVAL_TTL no longer holds the code."""
    return organization.pending_approval and now - organization.created_at >= PENDING_APPROVAL_TTL


def _rep_index(accounts: Accounts, record: EnterpriseRecord) -> str:
    return id_index(accounts, IdType.RESIDENT, normalise(record.legal_rep_id_number))


def register_organization(
    session: Session,
    accounts: Accounts,
    registry: EnterpriseRegistry,
    person: Person,
    uscc: str,
    name: str,
    *,
    allow_pending: bool = True,
    channel: str = "web",
    actor: str | None = None,
    now: datetime | None = None,
) -> Organization:
    """Register the organisation `uscc` named `name`, for `person`.

    The legal representative gets an approved organisation; anyone else real-named gets
    one pending the legal representative's approval, unless `allow_pending` is False (the
    counter, which registers on the legal representative's behalf).
    """
    now = now or utcnow()
    code = normalise_uscc(uscc)
    name = _clean_name(name)
    if not name or len(name) > MAX_NAME:
        raise LegalPersonError("name")
    _require_real_named(person)

    record = _lookup(registry, code)
    if _clean_name(record.name) != name:
        raise LegalPersonError("name_mismatch")
    rep_index = _rep_index(accounts, record)
    is_rep = person.id_number_index == rep_index
    if not is_rep and not allow_pending:
        raise LegalPersonError("not_legal_representative")

    existing = session.scalar(select(Organization).where(Organization.uscc == code))
    lapsed = existing is not None and _lapsed(existing, now)
    if existing is not None and not lapsed:
        waiting_for_them = existing.pending_approval and is_rep
        raise LegalPersonError("pending_approval" if waiting_for_them else "already_registered")
    if existing is not None:
        session.delete(existing)
        session.flush()

    organization = Organization(
        uscc=code,
        name=record.name,
        status=record.status,
        registered_by=person.id,
        legal_rep_index=rep_index,
        created_at=now,
        verified_at=now,
        approved_at=now if is_rep else None,
    )
    role = LEGAL_REPRESENTATIVE if is_rep else ADMIN
    organization.memberships.append(Membership(person_id=person.id, role=role))
    session.add(organization)
    try:
        session.flush()
    except IntegrityError as exc:  # registered a moment ago by someone else
        raise LegalPersonError("already_registered") from exc
    record_event(
        session,
        "person:organization:registered",
        person_id=person.id,
        actor=actor,
        channel=channel,
        detail={
            "organization_id": organization.id,
            "uscc": code,
            "role": role,
            "pending_approval": not is_rep,
            "replaced_lapsed": lapsed,
        },
    )
    return organization


def approve_registration(
    session: Session,
    accounts: Accounts,
    registry: EnterpriseRegistry,
    person: Person,
    organization: Organization,
    *,
    channel: str = "web",
    now: datetime | None = None,
) -> Organization:
    """The legal representative confirms a registration someone else made. The registry
    is asked again: time has passed, and it alone says who the legal representative is."""
    now = now or utcnow()
    if not organization.pending_approval:
        raise LegalPersonError("not_pending")
    if _lapsed(organization, now):
        raise LegalPersonError("approval_expired")
    _require_real_named(person, "not_legal_representative")
    record = _lookup(registry, organization.uscc)
    rep_index = _rep_index(accounts, record)
    if person.id_number_index != rep_index:
        raise LegalPersonError("not_legal_representative")
    organization.status = record.status
    organization.name = record.name
    organization.legal_rep_index = rep_index
    organization.verified_at = now
    organization.approved_at = now
    membership = _membership(session, organization.id, person.id)
    if membership is None:
        organization.memberships.append(Membership(person_id=person.id, role=LEGAL_REPRESENTATIVE))
    else:
        membership.role = LEGAL_REPRESENTATIVE
    session.flush()
    record_event(
        session,
        "person:organization:approved",
        person_id=person.id,
        channel=channel,
        detail={"organization_id": organization.id, "uscc": organization.uscc},
    )
    return organization


def reject_registration(
    session: Session, person: Person, organization: Organization, *, channel: str = "web"
) -> None:
    """The legal representative refuses a registration someone else made: it is deleted,
    with the registrant's inert membership, and the code is free again."""
    if not organization.pending_approval:
        raise LegalPersonError("not_pending")
    _require_real_named(person, "not_legal_representative")
    if person.id_number_index != organization.legal_rep_index:
        raise LegalPersonError("not_legal_representative")
    record_event(
        session,
        "person:organization:rejected",
        person_id=person.id,
        channel=channel,
        detail={
            "organization_id": organization.id,
            "uscc": organization.uscc,
            "registered_by": organization.registered_by,
        },
    )
    session.delete(organization)
    session.flush()


def pending_approvals(
    session: Session, person: Person, *, now: datetime | None = None
) -> list[Organization]:
    """Registrations waiting for `person`'s approval as legal representative."""
    if person.id_number_index is None:
        return []
    since = (now or utcnow()) - PENDING_APPROVAL_TTL
    return list(
        session.scalars(
            select(Organization)
            .where(
                Organization.legal_rep_index == person.id_number_index,
                Organization.approved_at.is_(None),
                Organization.created_at > since,
            )
            .order_by(Organization.created_at)
        )
    )


# -- agents -------------------------------------------------------------------------------
def _membership(session: Session, organization_id: str, person_id: str) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.organization_id == organization_id, Membership.person_id == person_id
        )
    )


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
    membership = _membership(session, organization.id, granter.id)
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
    _require_real_named(agent_person, "agent_not_real_named")

    membership = _membership(session, organization.id, agent_person.id)
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
        "person:agent:authorised",
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
        manager = _membership(session, organization.id, granter.id)
        if not granter.active or manager is None or manager.role not in MANAGERS:
            raise LegalPersonError("not_permitted")
    if authorisation.revoked_at is not None:
        raise LegalPersonError("already_revoked")
    authorisation.revoked_at = now or utcnow()
    session.flush()
    record_event(
        session,
        "person:agent:revoked",
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
