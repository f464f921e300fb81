"""The append-only audit table and the head of its SM3 hash chain. Rows are only ever
inserted (enforced in the ORM and by database triggers, see migrations 0001 and 0006);
each row carries the hash of the one before it, so `idp audit verify` can prove the trail
is whole (idp/audit/chain.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Integer, SmallInteger, String, event
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base, UTCDateTime, utcnow

HASH_LENGTH = 64  # hex SM3


class AuditEvent(Base):
    __tablename__ = "audit_events"

    # Assigned by record_event before the INSERT (it is part of the hashed content).
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    # Position in the chain: 1, 2, 3 … without gaps, assigned under the chain head's lock.
    # `id` may have gaps (PostgreSQL sequences skip on rollback); `seq` may not.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # subject:object:action, e.g. person:login:failed
    event: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[str | None] = mapped_column(String(36), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    ip: Mapped[str | None] = mapped_column(String(45))
    channel: Mapped[str | None] = mapped_column(String(16))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    session_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    row_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class AuditChainHead(Base):
    """One row: the last chained row's seq and hash. Appends lock it, so the chain stays
    linear; a trigger advances it with every insert and refuses to move it any other way
    than one row forward."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class AuditImmutableError(Exception):
    pass


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(*_args: Any) -> None:
    raise AuditImmutableError("audit_events is append-only")


@event.listens_for(AuditChainHead, "before_update")
@event.listens_for(AuditChainHead, "before_delete")
def _refuse_head_change(*_args: Any) -> None:
    raise AuditImmutableError("audit_chain_head moves only through record_event")
