"""Approvals on the app: one mechanism for every channel that lets the official app say
"yes, this is me" (a web QR sign-in, a kiosk's device grant, a hotline CIBA request, a
step-up of a web session).

An approval is bound to one authentication transaction (`txn_id`) and answered once, by
one enrolled device, with a proof signed by that device's key (idp/authn/devices.py):

    PENDING --the app scans it (QR, device)--> SCANNED --approve--> APPROVED --> CONSUMED
       |                                          |                    (the channel finished it)
       '-------------- approve / deny ------------+--deny--> DENIED
    any of them --its time is up--> gone (expired)

An approval that names its person from the start (CIBA's login_hint, a step-up of a
session) can only be answered by that person's devices; one that does not (a QR on a web
page, a kiosk's code) belongs to the first device that scans it, and to no other. Every
change is one Lua step on the record, so two devices (or two taps) never both win.

What an approval proves is `amr` and `level` (the app key, with a face check or not); the
channel that waits for it turns that into a session or tokens, through the same checks as
every other sign-in (idp/authn/policy.py).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from flask import Flask, current_app

from idp.store import ArtifactStore, key

KIND = "approval"
ALIAS = "approval-alias"  # a code typed or scanned elsewhere (a device grant's user_code)
INDEX = "person-approvals"


class ApprovalKind(StrEnum):
    qr = "qr"  # the web sign-in page's QR code
    device = "device"  # RFC 8628: a kiosk or TV's verification_uri_complete
    ciba = "ciba"  # OpenID CIBA: the hotline's agent desk
    step_up = "step_up"  # a signed-in web session needs a higher level


class ApprovalState(StrEnum):
    pending = "pending"
    scanned = "scanned"
    approved = "approved"
    denied = "denied"
    consumed = "consumed"


OPEN = (ApprovalState.pending, ApprovalState.scanned)


@dataclass
class Approval:
    kind: ApprovalKind
    txn_id: str  # the authentication transaction it answers
    client_name: str  # shown on the device: who asks
    expires_at: int
    person_id: str | None = None  # who may answer: known from the start, or the scanner
    binding_message: str | None = None  # CIBA's, shown on the device and the desk
    scopes: list[str] = field(default_factory=list)  # what the requester will read
    location: str | None = None  # the requesting browser's rough location (QR)
    level: int = 0  # the level the requester asked for (0: any)
    # hex: an id is typed and passed as a command-line argument (never starts with "-")
    id: str = field(default_factory=lambda: secrets.token_hex(16))
    state: ApprovalState = ApprovalState.pending
    created_at: int = field(default_factory=lambda: int(time.time()))
    device_id: str | None = None  # the device that scanned it, then answered it
    amr: list[str] = field(default_factory=list)  # what the approval proved
    answered_at: int | None = None

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at

    def public(self) -> dict[str, Any]:
        """What the app is shown (the `idp-app pending --json` shape)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "client_name": self.client_name,
            "binding_message": self.binding_message,
            "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.expires_at)),
            "state": self.state.value,
            "scopes": self.scopes,
            "location": self.location,
            "level": self.level,
        }


def user_code_alias(user_code: str) -> str:
    """The alias a device grant's approval is found by, from its user_code as typed or
    scanned (RFC 8628 6.1: case and dashes do not matter)."""
    return "user-code:" + "".join(c for c in user_code.upper() if c.isalnum())


def _approval(raw: bytes | str | dict[str, Any]) -> Approval:
    record = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
    found = Approval(**{**record, "amr": list(record.get("amr") or []),
                        "scopes": list(record.get("scopes") or [])})  # fmt: skip
    found.kind, found.state = ApprovalKind(found.kind), ApprovalState(found.state)
    return found


# One change of state (KEYS[1] the approval). ARGV: 1 the states it may be in (a comma-
# separated list), 2 the person who must own it ('' when anyone may claim it, it then
# becomes theirs), 3 the device that must have scanned it ('' when none has yet, or it may
# be any), 4 the new state, 5 a JSON object of fields to set, 6 now. The record keeps its
# TTL. Returns {1, record} when changed, {0, record} when refused, false when gone.
_MOVE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local a = cjson.decode(raw)
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do if a.state == s then allowed = true end end
if not allowed or tonumber(ARGV[6]) >= a.expires_at then return {0, raw} end
local function taken(v, want) return type(v) == 'string' and want ~= '' and v ~= want end
if taken(a.person_id, ARGV[2]) or taken(a.device_id, ARGV[3]) then return {0, raw} end
if ARGV[2] ~= '' then a.person_id = ARGV[2] end
if ARGV[3] ~= '' then a.device_id = ARGV[3] end
a.state = ARGV[4]
for k, v in pairs(cjson.decode(ARGV[5])) do a[k] = v end
raw = cjson.encode(a)
redis.call('SET', KEYS[1], raw, 'KEEPTTL')
return {1, raw}
"""


class ApprovalRefusedError(Exception):
    """The approval is gone, expired, answered already, or not this device's to answer."""


class Approvals:
    """The store of approvals (Redis, each with its TTL)."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def create(self, approval: Approval, *, alias: str | None = None) -> Approval:
        """Store a new approval (shown on the person's devices at once when its person is
        known); `alias` is another name it is found by (a device grant's user_code)."""
        ttl = approval.expires_at - int(time.time())
        record = asdict(approval)
        if not self.store.add_once(KIND, approval.id, record, max(ttl, 1)):
            raise ApprovalRefusedError("an approval with this id exists")  # never, in practice
        if alias is not None:
            self.store.upsert(ALIAS, alias, {"id": approval.id}, max(ttl, 1))
        if approval.person_id is not None:
            self.store.index_add(INDEX, approval.person_id, approval.id, max(ttl, 1))
        return approval

    def find(self, approval_id: str) -> Approval | None:
        record = self.store.find(KIND, approval_id)
        return _approval(record) if record else None

    def by_alias(self, alias: str) -> Approval | None:
        found = self.store.find(ALIAS, alias)
        return self.find(found["id"]) if found else None

    def pending_for(self, person_id: str) -> list[Approval]:
        """What this person's devices should show now: open approvals, newest first."""
        ids = self.store.index_members(INDEX, person_id)
        records = self.store.find_many(KIND, ids)
        gone = [i for i, r in zip(ids, records, strict=True) if r is None]
        if gone:
            self.store.index_remove(INDEX, person_id, *gone)
        found = [_approval(r) for r in records if r is not None]
        live = [a for a in found if a.state in OPEN and not a.expired and a.person_id == person_id]
        return sorted(live, key=lambda a: a.created_at, reverse=True)

    def scan(self, approval_id: str, *, person_id: str, device_id: str) -> Approval:
        """The app read the approval's code: it becomes this person's and this device's
        (a second device, or another person, can no longer take it)."""
        found = self._move(approval_id, OPEN, ApprovalState.scanned, person_id, device_id, {})
        self.store.index_add(INDEX, person_id, approval_id, max(found.expires_at - _now(), 1))
        return found

    def answer(
        self,
        approval_id: str,
        *,
        person_id: str,
        device_id: str,
        approve: bool,
        amr: list[str] | None = None,
    ) -> Approval:
        """Approve (proving `amr`) or deny, once, from this person's device."""
        to = ApprovalState.approved if approve else ApprovalState.denied
        fields: dict[str, Any] = {"answered_at": _now()}
        if approve:
            fields["amr"] = list(amr or [])
        return self._move(approval_id, OPEN, to, person_id, device_id, fields)

    def finish(self, approval_id: str) -> Approval:
        """The channel used the approval (opened the session, issued the tokens): it can
        never be used again."""
        return self._move(
            approval_id, (ApprovalState.approved,), ApprovalState.consumed, "", "", {}
        )

    def _move(
        self,
        approval_id: str,
        states: tuple[ApprovalState, ...],
        to: ApprovalState,
        person_id: str,
        device_id: str,
        fields: dict[str, Any],
    ) -> Approval:
        found = self.store.run(
            _MOVE,
            [key(KIND, approval_id)],
            [",".join(states), person_id, device_id, to.value, json.dumps(fields), _now()],
        )
        if not found:
            raise ApprovalRefusedError("this request has expired or does not exist")
        approval = _approval(found[1])
        if int(found[0]) != 1:
            if approval.expired:
                raise ApprovalRefusedError("this request has expired")
            raise ApprovalRefusedError(f"this request cannot be answered ({approval.state})")
        return approval


def _now() -> int:
    return int(time.time())


# -- who waits for an answer ------------------------------------------------------------------
Listener = Callable[[Approval], None]
_LISTENERS = "idp.approval_listeners"


def listen(app: Flask, kind: ApprovalKind, listener: Listener) -> None:
    """Call `listener` when an approval of `kind` is answered (CIBA's ping mode tells the
    agent desk at once instead of waiting for its next poll)."""
    app.extensions.setdefault(_LISTENERS, []).append((kind, listener))


def announce(approval: Approval) -> None:
    """Whoever answered `approval` (the app API, a code read back on the phone) says so."""
    for kind, listener in current_app.extensions.get(_LISTENERS, []):
        if kind == approval.kind:
            listener(approval)
