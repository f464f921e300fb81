"""The signing key table: one row per key, its pinned algorithm and its place in rotation.

A key moves `next` -> `active` -> `retiring` -> `retired`. `next`, `active` and `retiring`
keys are published in the JWKS; only `active` keys sign. There is at most one active and
one next key per algorithm (partial unique indexes enforce it, so two processes cannot
both create one). The private key is sealed under the key-encryption key and bound to its
kid.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base, UTCDateTime, created_at


class KeyState(StrEnum):
    NEXT = "next"
    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


PUBLISHED_STATES = (KeyState.NEXT, KeyState.ACTIVE, KeyState.RETIRING)
_ONE_ACTIVE = text("state = 'active'")
_ONE_NEXT = text("state = 'next'")


class SigningKey(Base):
    __tablename__ = "signing_keys"
    __table_args__ = (
        Index(
            "uq_signing_keys_active_alg",
            "alg",
            unique=True,
            postgresql_where=_ONE_ACTIVE,
            sqlite_where=_ONE_ACTIVE,
        ),
        Index(
            "uq_signing_keys_next_alg",
            "alg",
            unique=True,
            postgresql_where=_ONE_NEXT,
            sqlite_where=_ONE_NEXT,
        ),
    )

    # RFC 7638 thumbprint (SHA-256, base64url) of the public key
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    # the private JWK as JSON, sealed with the key-encryption key at `signing_keys|private|<kid>`
    private_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[created_at]
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retiring_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
