"""A step that waits for an SMS code (registration, recovery, a new phone number), kept
across codes.

The code itself (idp/accounts/sms_codes.py) dies after 10 minutes or 5 wrong tries. The
step around it lives longer and remembers the number, so that the person can ask for a
new code to the same number (the same rate limits as the first), change the number
without retyping the rest, and, once the step is done, be told so when they come Back:

    WAITING (a live code) --wrong code x5 / 10 minutes--> WAITING (no live code)
    WAITING --new code (after the wait, within the limits)--> WAITING (a live code)
    WAITING --right code, the work done--> DONE (kept a while, so Back can say so)
    WAITING --change number--> gone (the start form gets the number back)

The record is `idp:<kind>-flow:<id>` in Redis, with a TTL.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any

from connectors.sms import SmsGateway
from idp.accounts import sms_codes
from idp.store import ArtifactStore

FLOW_TTL = 1800  # longer than a code lives: a new code can be asked for meanwhile


@dataclass(frozen=True)
class CodeFlow:
    kind: str
    id: str
    phone: str
    code_id: str  # the newest code sent (it may have died since)
    extra: dict[str, Any] = field(default_factory=dict)
    done: bool = False
    deliver: bool = True  # False: a decoy whose codes are never sent (see sms_codes)

    @property
    def masked_phone(self) -> str:
        return self.phone[:3] + "****" + self.phone[-4:]

    @property
    def sent(self) -> Sent:
        return Sent(self.id, self.masked_phone)


@dataclass(frozen=True)
class Sent:
    """A code is on its way (a decoy's alike): the step that waits for it, and where."""

    flow_id: str
    masked_phone: str


@dataclass(frozen=True)
class Progress:
    """What the code step's page shows: alike for a decoy and a real step."""

    masked_phone: str
    done: bool
    code_alive: bool  # False: expired or out of tries; a new code is needed
    resend_wait: int  # seconds before a new code may be asked for


def _flow_kind(kind: str) -> str:
    return f"{kind}-flow"


def _save(store: ArtifactStore, flow: CodeFlow, *, new: bool = False) -> bool:
    record = {
        "phone": flow.phone,
        "code_id": flow.code_id,
        "extra": flow.extra,
        "done": flow.done,
        "deliver": flow.deliver,
    }
    if new:
        store.upsert(_flow_kind(flow.kind), flow.id, record, FLOW_TTL)
        return True
    return store.update(_flow_kind(flow.kind), flow.id, record, FLOW_TTL)


def begin(
    store: ArtifactStore,
    sms: SmsGateway,
    kind: str,
    phone: str,
    ip: str | None,
    extra: dict[str, Any] | None = None,
    *,
    deliver: bool = True,
    per_address: int = sms_codes.ADDRESS_SENDS_PER_HOUR,
) -> CodeFlow | sms_codes.CodeRefused:
    """Text a code to `phone` (normalised) and open the step waiting for it."""
    sent = sms_codes.send_code(
        store, sms, kind, phone, ip, extra, deliver=deliver, per_address=per_address
    )
    if isinstance(sent, sms_codes.CodeRefused):
        return sent
    flow = CodeFlow(kind, secrets.token_urlsafe(16), phone, sent, dict(extra or {}), False, deliver)
    _save(store, flow, new=True)
    return flow


def load(store: ArtifactStore, kind: str, flow_id: str) -> CodeFlow | None:
    record = store.find(_flow_kind(kind), flow_id)
    if record is None:
        return None
    return CodeFlow(
        kind,
        flow_id,
        record["phone"],
        record["code_id"],
        dict(record["extra"]),
        bool(record["done"]),
        bool(record["deliver"]),
    )


def progress(store: ArtifactStore, flow: CodeFlow) -> Progress:
    """Where the step stands, for its page."""
    return Progress(
        masked_phone=flow.masked_phone,
        done=flow.done,
        code_alive=not flow.done and code_alive(store, flow),
        resend_wait=resend_wait(store, flow),
    )


def resend(
    store: ArtifactStore,
    sms: SmsGateway,
    flow: CodeFlow | None,
    ip: str | None,
    *,
    per_address: int = sms_codes.ADDRESS_SENDS_PER_HOUR,
) -> CodeFlow | sms_codes.CodeRefused:
    """A new code to the same number, under the same limits as the first (one a minute,
    a few an hour per number and per address); the previous code stops working. A step
    that is gone (None) or done gets none: `expired`."""
    if flow is None or flow.done:
        return sms_codes.CodeRefused(sms_codes.CodeProblem.expired)
    sent = sms_codes.send_code(
        store,
        sms,
        flow.kind,
        flow.phone,
        ip,
        flow.extra,
        deliver=flow.deliver,
        per_address=per_address,
    )
    if isinstance(sent, sms_codes.CodeRefused):
        return sent
    store.destroy(flow.kind, flow.code_id)
    renewed = replace(flow, code_id=sent)
    if not _save(store, renewed):  # the step ended meanwhile: the new code is no use
        store.destroy(flow.kind, sent)
        return sms_codes.CodeRefused(sms_codes.CodeProblem.expired)
    return renewed


def check(
    store: ArtifactStore, flow: CodeFlow, code: str
) -> dict[str, Any] | sms_codes.CodeRefused:
    """The code's record if `code` is right (see sms_codes.check_code)."""
    return sms_codes.check_code(store, flow.kind, flow.code_id, code)


def finish(store: ArtifactStore, flow: CodeFlow, extra: dict[str, Any] | None = None) -> bool:
    """Use the code up and mark the step done (with `extra` kept for the page that says
    so); False when another request used the code first."""
    if not sms_codes.consume_code(store, flow.kind, flow.code_id):
        return False
    _save(store, replace(flow, extra={**flow.extra, **(extra or {})}, done=True))
    return True


def abandon(store: ArtifactStore, flow: CodeFlow) -> None:
    """The code and the step end (the number was wrong, or cannot be used)."""
    store.destroy(flow.kind, flow.code_id)
    store.destroy(_flow_kind(flow.kind), flow.id)


def change_number(store: ArtifactStore, flow: CodeFlow | None) -> str | None:
    """The person changes the number: a waiting step ends, and its number is given back
    to be corrected in the start form; None when the step is gone (None) or done."""
    if flow is None or flow.done:
        return None
    abandon(store, flow)
    return flow.phone


def code_alive(store: ArtifactStore, flow: CodeFlow) -> bool:
    """Whether the newest code can still be typed (not used up, expired or out of tries)."""
    record = store.find(flow.kind, flow.code_id)
    return record is not None and record["expires"] >= time.time()


def resend_wait(store: ArtifactStore, flow: CodeFlow) -> int:
    """Seconds before a new code may be asked for (0: now)."""
    return sms_codes.resend_wait(store, flow.phone)
