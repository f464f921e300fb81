"""Records of identity proofing: which agreement version a person accepted, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base, UTCDateTime, utcnow, uuid_pk


class AgreementAcceptance(Base):
    __tablename__ = "agreement_acceptances"

    id: Mapped[uuid_pk]
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
