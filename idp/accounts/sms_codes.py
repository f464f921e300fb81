"""One-time codes sent by SMS (registration, account recovery): rate-limited per phone and
address, stored only as an HMAC, single use, short-lived, and locked after a few wrong
tries. Each flow keeps its own record kind; the rules are the same for all of them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from connectors.errors import ConnectorRejected, ConnectorUnavailable
from connectors.sms import SmsGateway
from idp.store import ArtifactStore

CODE_TTL = 600
CODE_DIGITS = 6
MAX_TRIES = 5
PHONE_SENDS_PER_HOUR = 5
PHONE_RESEND_AFTER = 60
ADDRESS_SENDS_PER_HOUR = 20


class CodeProblem(StrEnum):
    too_many_codes = "too_many_codes"
    sms_unavailable = "sms_unavailable"
    expired = "expired"
    wrong_code = "wrong_code"


@dataclass(frozen=True)
class CodeRefused:
    problem: CodeProblem
    tries_left: int | None = None


def send_code(
    store: ArtifactStore,
    sms: SmsGateway,
    kind: str,
    phone: str,
    ip: str | None,
    extra: dict[str, Any] | None = None,
    *,
    deliver: bool = True,
) -> str | CodeRefused:
    """Text a fresh code to `phone` (already normalised); return the flow id.

    With `deliver=False` nothing is sent but everything else happens alike (rate limits, a
    stored code, tries): a decoy, so a flow cannot tell whether a number has an account."""
    phone_key = hashlib.sha256(phone.encode()).hexdigest()[:32]
    if store.find("sms-recent", phone_key) is not None:
        return CodeRefused(CodeProblem.too_many_codes)
    if store.incr("sms-phone", phone_key, 3600) > PHONE_SENDS_PER_HOUR or (
        ip and store.incr("sms-address", ip, 3600) > ADDRESS_SENDS_PER_HOUR
    ):
        return CodeRefused(CodeProblem.too_many_codes)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    flow_id = secrets.token_urlsafe(16)
    try:
        if deliver:
            sms.send(phone, "verification_code", {"code": code, "minutes": str(CODE_TTL // 60)})
    except (ConnectorUnavailable, ConnectorRejected):
        return CodeRefused(CodeProblem.sms_unavailable)
    store.upsert("sms-recent", phone_key, {}, PHONE_RESEND_AFTER)
    store.upsert(
        kind,
        flow_id,
        {
            **(extra or {}),
            "phone": phone,
            "code": _digest(flow_id, code),
            "tries": 0,
            "expires": time.time() + CODE_TTL,
        },
        CODE_TTL,
    )
    return flow_id


def check_code(
    store: ArtifactStore, kind: str, flow_id: str, code: str
) -> dict[str, Any] | CodeRefused:
    """The flow's record if `code` is right (not yet consumed: call `consume_code` once the
    work it unlocks is done). A wrong code uses up a try."""
    record = store.find(kind, flow_id)
    if record is None or record["expires"] < time.time():
        return CodeRefused(CodeProblem.expired)
    if hmac.compare_digest(record["code"], _digest(flow_id, code.strip())):
        return record
    record["tries"] += 1
    if record["tries"] >= MAX_TRIES:
        store.destroy(kind, flow_id)
        return CodeRefused(CodeProblem.expired)
    store.upsert(kind, flow_id, record, max(int(record["expires"] - time.time()), 1))
    return CodeRefused(CodeProblem.wrong_code, tries_left=MAX_TRIES - record["tries"])


def consume_code(store: ArtifactStore, kind: str, flow_id: str) -> bool:
    """Use the code up; False when another request already did (it works once only)."""
    return store.consume(kind, flow_id) is not None


def masked_phone(store: ArtifactStore, kind: str, flow_id: str) -> str | None:
    record = store.find(kind, flow_id)
    return None if record is None else record["phone"][:3] + "****" + record["phone"][-4:]


def _digest(flow_id: str, code: str) -> str:
    return hmac.new(flow_id.encode(), code.encode(), hashlib.sha256).hexdigest()
