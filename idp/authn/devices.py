"""The official app's device keys, and the proofs every app request carries.

After signing in, the app makes an ES256 key pair on the device and enrols the public
half; the provider keeps the public key, the device's name and its person, nothing else.
Every later app request carries a proof in the shape of an RFC 9449 DPoP proof: a JWT
with `typ: dpop+jwt`, signed by the device key (named by `kid`, the device's id; at
enrolment the new public key itself rides in the header's `jwk`), whose claims bind it to
the request: `htm` (method), `htu` (URL without query), `iat` (now, give or take
`PROOF_SKEW`), `jti` (never seen before), and at enrolment `ath` (the access token's
hash). A replayed, stale or foreign proof is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from idp.db import Base, UTCDateTime, created_at, utcnow, uuid_pk
from idp.store import ArtifactStore

PROOF_TYP = "dpop+jwt"
PROOF_SKEW = 60  # seconds either side of now
SEEN = "app-proof-jti"
MAX_DEVICES = 10  # per person: an eleventh enrolment is refused until one is removed
MAX_NAME = 64


class Device(Base):
    __tablename__ = "app_devices"

    id: Mapped[uuid_pk]
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    thumbprint: Mapped[str] = mapped_column(String(64), unique=True)  # RFC 7638
    created_at: Mapped[created_at]
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProofError(Exception):
    """Why an app request's proof is refused (said to the app, in its error JSON)."""


@dataclass(frozen=True)
class Proof:
    key: ECKey
    claims: dict[str, Any]
    kid: str | None  # the device that signed it (None at enrolment: the key is in `jwk`)


def access_token_hash(token: str) -> str:
    """RFC 9449 4.2 `ath`: base64url(SHA-256(token))."""
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


def read_proof(value: str | None) -> tuple[dict[str, Any], str | None, ECKey | None]:
    """The proof's header, its kid, and the key in its header (enrolment), unverified."""
    if not value:
        raise ProofError("the request carries no proof (the DPoP header)")
    try:
        header = jws.extract_compact(value.encode()).protected
    except (JoseError, ValueError) as exc:
        raise ProofError("the proof is not a compact JWS") from exc
    if header.get("typ") != PROOF_TYP or header.get("alg") != "ES256":
        raise ProofError(f"the proof must be typ {PROOF_TYP}, alg ES256")
    kid, jwk = header.get("kid"), header.get("jwk")
    if jwk is None:
        return header, kid if isinstance(kid, str) else None, None
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ProofError("the proof's jwk must be a P-256 public key")
    if "d" in jwk:
        raise ProofError("the proof's jwk must not hold a private key")
    try:
        return header, None, ECKey.import_key(jwk)
    except (JoseError, ValueError) as exc:
        raise ProofError("the proof's jwk is not a valid key") from exc


def check_proof(
    value: str,
    key: ECKey,
    *,
    method: str,
    url: str,
    seen: ArtifactStore,
    access_token: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The proof's claims, if it is signed by `key` and bound to this request, and its
    `jti` has not been used before (it is remembered as used, whatever follows)."""
    try:
        token = jws.deserialize_compact(value, key, algorithms=["ES256"])
    except (JoseError, ValueError) as exc:
        raise ProofError("the proof's signature does not verify with this device's key") from exc
    try:
        claims = json.loads(token.payload)
    except ValueError as exc:
        raise ProofError("the proof's claims are not JSON") from exc
    if not isinstance(claims, dict):
        raise ProofError("the proof's claims are not a JSON object")
    now = time.time() if now is None else now
    iat, jti = claims.get("iat"), claims.get("jti")
    if claims.get("htm") != method or claims.get("htu") != url:
        raise ProofError("the proof is for another request (htm, htu)")
    if not isinstance(iat, int) or abs(now - iat) > PROOF_SKEW:
        raise ProofError("the proof is stale or from the future (iat)")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 128:
        raise ProofError("the proof needs a jti of 8 to 128 characters")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise ProofError("the proof is not bound to this access token (ath)")
    scope = key.thumbprint()
    if not seen.add_once(SEEN, f"{scope}:{jti}", {"iat": iat}, 2 * PROOF_SKEW + 1):
        raise ProofError("the proof has been used before (jti)")
    return claims


class Devices:
    """Enrolled devices of persons (the database)."""

    def __init__(self, db: Session) -> None:
        self.db = db

    def enrol(self, person_id: str, key: ECKey, name: str) -> Device:
        name = name.strip()
        if not name or len(name) > MAX_NAME or not name.isprintable():
            raise ValueError(f"a device name is 1 to {MAX_NAME} printable characters")
        if len(self.of(person_id)) >= MAX_DEVICES:
            raise ValueError(f"at most {MAX_DEVICES} devices; remove one first")
        thumbprint = key.thumbprint()
        taken = self.db.scalar(select(Device).where(Device.thumbprint == thumbprint))
        if taken is not None:
            raise ValueError("this key is enrolled already")
        device = Device(
            person_id=person_id,
            name=name,
            public_jwk=key.as_dict(private=False),
            thumbprint=thumbprint,
        )
        self.db.add(device)
        self.db.flush()
        return device

    def get(self, device_id: str | None) -> Device | None:
        if not device_id or len(device_id) > 36:
            return None
        return self.db.get(Device, device_id)

    def of(self, person_id: str) -> list[Device]:
        query = select(Device).where(Device.person_id == person_id).order_by(Device.created_at)
        return list(self.db.scalars(query))

    def remove(self, person_id: str, device_id: str) -> Device | None:
        device = self.get(device_id)
        if device is None or device.person_id != person_id:
            return None
        self.db.delete(device)
        self.db.flush()
        return device

    def used(self, device: Device) -> None:
        device.last_used_at = utcnow()


def device_key(device: Device) -> ECKey:
    return ECKey.import_key(device.public_jwk)
