"""Legal persons (法人): organisations keyed by USCC, the people who belong to them, and the
authorisations that let an agent (经办人) act for one.

A person holds at most one membership per organisation (unique organisation + person):
the roles are nested powers (the legal representative may do all an admin may, an admin
all an agent may), so a second row could only contradict the first, and a change of role
is an update of that one row. An agent's powers are their active `AgentAuthorisation`.

An organisation is *pending approval* (`approved_at` is NULL) when someone other than its
legal representative registered it; until the legal representative approves, no one may
act for it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.accounts.models import Person
from idp.db import Base, UTCDateTime, created_at, updated_at, utcnow, uuid_pk

__all__ = [
    "ADMIN",
    "AGENT",
    "AGENT_SCOPES",
    "LEGAL_REPRESENTATIVE",
    "ROLES",
    "AgentAuthorisation",
    "Membership",
    "Organization",
]

LEGAL_REPRESENTATIVE = "legal_representative"  # 法定代表人
ADMIN = "admin"  # 管理员
AGENT = "agent"  # 经办人
ROLES = (LEGAL_REPRESENTATIVE, ADMIN, AGENT)

# What an agent may be authorised to do for an organisation: the matters a relying party
# can check in the `org` claim's `authorised_scopes`. (zh, en) labels, zh first.
AGENT_SCOPES: dict[str, tuple[str, str]] = {
    "tax": ("税务办理", "tax matters"),
    "social_security": ("社会保险", "social security"),
    "housing_fund": ("住房公积金", "housing provident fund"),
    "business_registration": ("市场主体登记", "business registration"),
    "licences": ("行政许可", "licences and permits"),
    "procurement": ("政府采购", "public procurement"),
}


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid_pk]
    # A public identifier (printed on the business licence), so stored as it is.
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The enterprise registry's status at the last check (connectors.ENTERPRISE_STATUSES).
    status: Mapped[str] = mapped_column(String(16))
    registered_by: Mapped[str | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    # Blind index of the legal representative's ID number as the registry gave it at the
    # last check: finds the registrations awaiting a person's approval without asking the
    # registry about every pending organisation.
    legal_rep_index: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def pending_approval(self) -> bool:
        return self.approved_at is None

    @property
    def active(self) -> bool:
        """Approved, and active in the registry at the last check: people may act for it."""
        return self.approved_at is not None and self.status == "active"


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("organization_id", "person_id"),
        CheckConstraint(f"role IN {ROLES!r}", name="role"),
    )

    id: Mapped[uuid_pk]
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    organization: Mapped[Organization] = relationship(back_populates="memberships")
    person: Mapped[Person] = relationship()
    authorisations: Mapped[list[AgentAuthorisation]] = relationship(
        back_populates="membership", cascade="all, delete-orphan", passive_deletes=True
    )


class AgentAuthorisation(Base):
    """What an agent may do for the organisation, until when. Never updated except to
    revoke: a new grant to the same agent is a new row (and revokes the previous one)."""

    __tablename__ = "agent_authorisations"

    id: Mapped[uuid_pk]
    membership_id: Mapped[str] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    granted_by: Mapped[str | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)  # keys of AGENT_SCOPES
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]

    membership: Mapped[Membership] = relationship(back_populates="authorisations")

    def active_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    @property
    def active(self) -> bool:
        return self.active_at(utcnow())
