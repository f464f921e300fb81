"""Person and Credential tables.

Phone and ID numbers are never stored in the clear: `*_sealed` holds SM4-GCM ciphertext
bound to its row, `*_index` an HMAC-SM3 blind index that is unique and used for lookups.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.db import Base, UTCDateTime, created_at, updated_at, uuid_pk

ACTIVE = "active"  # Person.status of someone who may sign in and use their grants


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[uuid_pk]
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(128))
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    id_type: Mapped[str | None] = mapped_column(String(16))
    id_number_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    loa: Mapped[int] = mapped_column(SmallInteger, default=2)
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    # When a closure the person asked for takes effect (None: no closure asked for)
    closure_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    # Loaded when a password is checked or set, not with every person (userinfo, tokens).
    credentials: Mapped[list[Credential]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="select"
    )

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def credential(self, kind: str) -> Credential | None:
        return next((c for c in self.credentials if c.type == kind), None)


class Credential(Base):
    """A way to prove you are the person: `password` now; `totp`, `app_key` later."""

    __tablename__ = "credentials"

    id: Mapped[uuid_pk]
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship(back_populates="credentials")
