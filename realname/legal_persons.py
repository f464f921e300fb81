"""Legal persons: registering an organisation by its USCC and the legal representative's
approval. Agents and "act for" are in realname/agents.py.

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
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.enterprise import EnterpriseRecord, EnterpriseRegistry
from connectors.errors import ConnectorRejected, ConnectorUnavailable
from idp.accounts.models import Person
from idp.accounts.services import Accounts
from idp.audit import record_event
from idp.audit.events import Event
from idp.db import utcnow
from realname.identifiers import IdType, check, normalise
from realname.organizations import (
    ADMIN,
    LEGAL_REPRESENTATIVE,
    Membership,
    Organization,
)
from realname.proofing import REAL_NAME_LOA, id_index

__all__ = [
    "ERROR_MESSAGES",
    "PENDING_APPROVAL_TTL",
    "LegalPersonError",
    "approve_registration",
    "membership_of",
    "normalise_uscc",
    "pending_approvals",
    "register_organization",
    "reject_registration",
    "require_real_named",
]

MAX_NAME = 200
PENDING_APPROVAL_TTL = timedelta(days=30)

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


# -- registration -------------------------------------------------------------------------
def normalise_uscc(raw: str) -> str:
    """The code as GB 32100 writes it; LegalPersonError(rule) when it breaks a format rule."""
    verdict = check(IdType.USCC, raw)
    if not verdict.valid or verdict.normalised is None:
        raise LegalPersonError(str(verdict.rule))
    return verdict.normalised


def _clean_name(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def require_real_named(person: Person, code: str = "real_name_required") -> None:
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
    require_real_named(person)

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
        Event.organization_registered,
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
    require_real_named(person, "not_legal_representative")
    record = _lookup(registry, organization.uscc)
    rep_index = _rep_index(accounts, record)
    if person.id_number_index != rep_index:
        raise LegalPersonError("not_legal_representative")
    organization.status = record.status
    organization.name = record.name
    organization.legal_rep_index = rep_index
    organization.verified_at = now
    organization.approved_at = now
    membership = membership_of(session, organization.id, person.id)
    if membership is None:
        organization.memberships.append(Membership(person_id=person.id, role=LEGAL_REPRESENTATIVE))
    else:
        membership.role = LEGAL_REPRESENTATIVE
    session.flush()
    record_event(
        session,
        Event.organization_approved,
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
    require_real_named(person, "not_legal_representative")
    if person.id_number_index != organization.legal_rep_index:
        raise LegalPersonError("not_legal_representative")
    record_event(
        session,
        Event.organization_rejected,
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


def membership_of(session: Session, organization_id: str, person_id: str) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.organization_id == organization_id, Membership.person_id == person_id
        )
    )
