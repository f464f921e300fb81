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
    wait: int | None = None  # too_many_codes: seconds before a code can be sent again


def send_code(
    store: ArtifactStore,
    sms: SmsGateway,
    kind: str,
    phone: str,
    ip: str | None,
    extra: dict[str, Any] | None = None,
    *,
    deliver: bool = True,
    per_address: int = ADDRESS_SENDS_PER_HOUR,
) -> str | CodeRefused:
    """Text a fresh code to `phone` (already normalised); return the flow id.

    With `deliver=False` nothing is sent but everything else happens alike (rate limits, a
    stored code, tries): a decoy, so a flow cannot tell whether a number has an account.
    At most `per_address` codes an hour go out for requests from one address (a setting)."""
    phone_key = _phone_key(phone)
    # Set, not looked up: simultaneous requests must not all find "no recent code".
    if not store.add_once("sms-recent", phone_key, {}, PHONE_RESEND_AFTER):
        return _too_many(store, "sms-recent", phone_key)
    if store.incr("sms-phone", phone_key, 3600) > PHONE_SENDS_PER_HOUR:
        return _too_many(store, "sms-phone", phone_key)
    if ip and store.incr("sms-address", ip, 3600) > per_address:
        return _too_many(store, "sms-address", ip)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    flow_id = secrets.token_urlsafe(16)
    try:
        if deliver:
            sms.send(phone, "verification_code", {"code": code, "minutes": str(CODE_TTL // 60)})
    except (ConnectorUnavailable, ConnectorRejected):
        store.destroy("sms-recent", phone_key)  # nothing went out: asking again is fine
        return CodeRefused(CodeProblem.sms_unavailable)
    store.upsert(
        kind,
        flow_id,
        {
            **(extra or {}),
            "phone": phone,
            "code": _digest(flow_id, code),
            "expires": time.time() + CODE_TTL,
        },
        CODE_TTL,
    )
    return flow_id


def check_code(
    store: ArtifactStore, kind: str, flow_id: str, code: str
) -> dict[str, Any] | CodeRefused:
    """The flow's record if `code` is right (not yet consumed: call `consume_code` once the
    work it unlocks is done). A wrong code uses up a try; the comparison and the count are
    one step in Redis, so guesses sent at once get no more tries than guesses in a row."""
    record, tries = store.guess(kind, flow_id, "code", _digest(flow_id, code.strip()), MAX_TRIES)
    if record is not None and record["expires"] >= time.time():
        return record
    return _refusal(tries)


def spend_try(store: ArtifactStore, kind: str, flow_id: str) -> CodeRefused:
    """Charge a try for an answer that tells more than "right code" (e.g. "this user name
    is taken"), as a wrong code would: without this, one code could test any number of
    names. Give the answer only if the refusal returned is `wrong_code` (its `tries_left`
    says how many are left); `expired` means that was the last try."""
    return _refusal(store.guess(kind, flow_id, "code", "", MAX_TRIES)[1])


def _refusal(tries: int | None) -> CodeRefused:
    if tries is None or tries >= MAX_TRIES:
        return CodeRefused(CodeProblem.expired)
    return CodeRefused(CodeProblem.wrong_code, tries_left=MAX_TRIES - tries)


def consume_code(store: ArtifactStore, kind: str, flow_id: str) -> bool:
    """Use the code up; False when another request already did (it works once only)."""
    return store.consume(kind, flow_id) is not None


def resend_wait(store: ArtifactStore, phone: str) -> int:
    """Seconds before `phone` may be sent another code (0: now), as far as the one-code-a-
    minute rule goes; the hourly limits are only known when a code is asked for."""
    return store.ttl("sms-recent", _phone_key(phone))


def _too_many(store: ArtifactStore, counter: str, ident: str) -> CodeRefused:
    return CodeRefused(CodeProblem.too_many_codes, wait=max(store.ttl(counter, ident), 1))


def _phone_key(phone: str) -> str:
    return hashlib.sha256(phone.encode()).hexdigest()[:32]


def masked_phone(store: ArtifactStore, kind: str, flow_id: str) -> str | None:
    record = store.find(kind, flow_id)
    return None if record is None else record["phone"][:3] + "****" + record["phone"][-4:]


def _digest(flow_id: str, code: str) -> str:
    return hmac.new(flow_id.encode(), code.encode(), hashlib.sha256).hexdigest()
