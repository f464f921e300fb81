"""A kiosk's or TV's request answered in a browser (RFC 8628 3.3): the person types the
user code the device shows, at {issuer}/device, in any browser.

    typed code --[fewer than 5 wrong codes from this browser and this address?]--no-->
        |          refused, even a right code, for as long as codes live (10 minutes)
        | yes
        v
    [an open device request with this code?] --no--> a wrong code, counted
        | yes
        v
    CONFIRMING: who asks and what it will read --"not me"--> the request denied
        | continue
        v
    a transaction of this browser's own (kind device): sign-in, step-up, agreement,
    consent, as for any service (idp/authn, idp/web/transactions.py)
        -> READY: the device's approval answered by this person, from this browser; the
           device's next poll gets tokens for this transaction's session -> "done"
        -> REFUSED (consent refused, a level out of reach): the approval denied, the
           reason kept for the device's poll (access_denied) -> "declined"

The device's side (its codes, its polls, the tokens) is idp/oidc/device.py and
idp/oidc/grants/device_code.py; they find what was answered here through the approval.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from idp import context
from idp.accounts.sessions import SsoSession
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn import Halted, Ready
from idp.authn.answers import Answer, SendTo, ShowError
from idp.authn.approvals import (
    Approval,
    ApprovalKind,
    ApprovalRefusedError,
    Approvals,
    ApprovalState,
    user_code_alias,
)
from idp.authn.policy import Refusal
from idp.authn.release import Release, release_for
from idp.authn.transaction import TTL, Kind, Requester, Transaction, Transactions
from idp.db import db
from idp.store import Ref

PROTOCOL = "device"  # the device grant's transactions (idp/oidc/device.py says the same)
DONE_PATH = "/device/done"
WRONG_CODES = 5  # wrong user codes a browser (or an address) may type
BLOCK_SECONDS = TTL  # as long as a user code lives: no code can be guessed meanwhile
MISSES, BLOCKED = "device-code-misses", "device-code-blocked"
MAX_TYPED = 64
# An approval answered in a browser names that browser's transaction where an app's
# would name the device that answered it (device ids are uuids: never this prefix).
WEB = "web:"

EXPIRED = "this code has expired or has been answered already; start again on the device"


@dataclass(frozen=True)
class DeviceRequest:
    """A device's request as the confirmation page shows it."""

    approval: Approval
    requester: Requester
    release: Release


@dataclass(frozen=True)
class Blocked:
    """Too many wrong codes from this browser or this address."""


@dataclass(frozen=True)
class Wrong:
    """No open device request has this code."""

    tries_left: int


def blocked(*, browser: str, address: str | None) -> bool:
    """Whether this browser or address typed too many wrong codes lately."""
    sources = [f"browser:{browser}", f"address:{address or '-'}"]
    return any(context.store().find_each(*(Ref(BLOCKED, s) for s in sources)))


def showing(approval_id: object) -> DeviceRequest | None:
    """The device request a rightly typed code unlocked, while it still waits."""
    store = context.store()
    found = Approvals(store).find(approval_id) if isinstance(approval_id, str) else None
    txn = Transactions(store).find(found.txn_id) if found is not None and _open(found) else None
    if found is None or txn is None:
        return None
    return DeviceRequest(found, txn.requester, release_for(txn.requester, txn.scopes, txn.claims))


def look_up(typed: str, *, browser: str, address: str | None) -> DeviceRequest | Blocked | Wrong:
    """The open device request with the user code `typed` (case, dashes, spaces and
    full-width letters do not matter), unless this browser or address typed too many
    wrong ones."""
    store = context.store()
    sources = [f"browser:{browser}", f"address:{address or '-'}"]
    if blocked(browser=browser, address=address):
        return Blocked()
    normal = unicodedata.normalize("NFKC", typed)[:MAX_TYPED]
    found = Approvals(store).by_alias(user_code_alias(normal)) if normal.strip() else None
    txn = Transactions(store).find(found.txn_id) if found is not None and _open(found) else None
    if found is None or txn is None:
        tries = max(store.incr(MISSES, s, BLOCK_SECONDS) for s in sources)
        if tries >= WRONG_CODES:
            for source in sources:
                store.upsert(BLOCKED, source, {"since": tries}, BLOCK_SECONDS)
            return Blocked()
        return Wrong(WRONG_CODES - tries)
    return DeviceRequest(found, txn.requester, release_for(txn.requester, txn.scopes, txn.claims))


def _open(approval: Approval) -> bool:
    """Still waiting for an answer, and for nobody's in particular (an app that scanned
    the device's QR has taken it)."""
    return (
        approval.kind is ApprovalKind.device
        and approval.state is ApprovalState.pending
        and approval.person_id is None
        and not approval.expired
    )


def begin(approval_id: str | None) -> Transaction | Halted:
    """The person confirmed: a transaction of this browser's own for the device's
    request, to go through the checks as any sign-in does."""
    store = context.store()
    approval = Approvals(store).find(approval_id) if approval_id else None
    device_txn = Transactions(store).find(approval.txn_id) if approval is not None else None
    if approval is None or device_txn is None or not _open(approval):
        return Halted("expired", EXPIRED)
    return Transaction(
        kind=Kind.device,
        requester=device_txn.requester,
        protocol=PROTOCOL,
        reference={"approval": approval.id},
        level=device_txn.level,
        scopes=list(device_txn.scopes),
        claims=list(device_txn.claims),
    )


def decline(approval_id: str | None, sso: SsoSession | None) -> None:
    """ "Not me", "I did not start this": the device is told access_denied."""
    if approval_id:
        _deny(approval_id, WEB + "declined", "the person declined on the verification page", sso)


def complete(ready: Ready) -> Answer:
    """The browser's transaction is ready: the device's approval is answered by this
    person, naming this transaction; the device's next poll gets the tokens."""
    txns = Transactions(context.store())
    approval_id = ready.txn.reference.get("approval")
    sso = ready.sso
    try:
        approval = Approvals(context.store()).answer(
            str(approval_id),
            person_id=sso.person_id,
            device_id=WEB + ready.txn.id,
            approve=True,
            amr=sso.amr,
        )
    except ApprovalRefusedError:
        txns.consume(ready.txn.id)
        return ShowError("expired", EXPIRED)
    record_event(
        db.session,
        Event.device_authorization_approved,
        person_id=sso.person_id,
        channel=sso.channel,
        session_id=sso.id,
        detail={"client_id": ready.txn.requester.id, "approval_id": approval.id},
    )
    db.session.commit()
    return SendTo(DONE_PATH)


def refuse(txn: Transaction, refusal: Refusal, reason: str) -> Answer:
    """The checks refused (the person declined consent, a level out of reach): the
    device is told access_denied, and why."""
    Transactions(context.store()).consume(txn.id)
    approval_id = txn.reference.get("approval")
    if approval_id:
        _deny(str(approval_id), WEB + txn.id, reason, None)
    return SendTo(DONE_PATH + "?declined=1")


def _deny(approval_id: str, answered_by: str, reason: str, sso: SsoSession | None) -> None:
    store = context.store()
    try:
        approval = Approvals(store).answer(
            approval_id, person_id="", device_id=answered_by, approve=False
        )
    except ApprovalRefusedError:
        return  # answered meanwhile (or expired): nothing to tell the device
    txns = Transactions(store)
    device_txn = txns.find(approval.txn_id)
    if device_txn is not None:  # why, for the device's next poll
        device_txn.reference["refused"] = reason
        txns.save(device_txn)
    record_event(
        db.session,
        Event.device_authorization_denied,
        person_id=sso.person_id if sso else None,
        channel="web",
        session_id=sso.id if sso else None,
        detail={"client_id": device_txn.requester.id if device_txn else None, "reason": reason},
    )
    db.session.commit()


# -- what the device's grant reads -------------------------------------------------------------
def signed_in_on_the_web(approval: Approval) -> str | None:
    """The browser transaction that answered `approval`, if a browser did."""
    answered_by = approval.device_id or ""
    return answered_by.removeprefix(WEB) if answered_by.startswith(WEB) else None


def refusal_of(device_txn: Transaction) -> str | None:
    """Why the device's request was refused in a browser, if it was."""
    reason = device_txn.reference.get("refused")
    return str(reason) if reason else None
