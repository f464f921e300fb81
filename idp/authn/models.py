"""Consents: what a person allowed a requester (a client) to receive.

Kept with the authentication transaction, whose consent check reads them, rather than with
one protocol: a SAML or CAS service's consents will be the same rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base, UTCDateTime, created_at, updated_at, uuid_pk


class Consent(Base):
    """What a person allowed a client to receive: scopes, and claims asked for by name.
    Remembered until revoked; it covers exactly what the consent page listed."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("person_id", "client_id"),)

    id: Mapped[uuid_pk]
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Claims allowed one by name (the `claims` request parameter) beyond those of `scopes`
    claims: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
