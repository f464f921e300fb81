"""QR sign-in on the web (扫码登录): the sign-in page shows a QR code, the person scans it
with the official app and confirms there, and this browser is signed in.

    SHOW: the page asks for a ticket --> an approval (kind qr, 2 minutes) bound to the
          transaction and to this browser (only a hash of its secret is kept)
    PENDING --the app scans it--> SCANNED --approved on the phone--> APPROVED
       |                             |                                 |
       '--------- approved / denied -+--denied--> DENIED               | FINISH, by the browser
    PENDING, SCANNED, APPROVED --time is up--> EXPIRED                 v  that showed it only
                                                                    CONSUMED: an SSO session
                                                                    (amr swk; channel web)

The app's moves (scan, approve, deny) are answered by idp/channels/app.py with a proof
signed by the device key; the approval record (idp/authn/approvals.py) makes every move
once, atomically. What is left here is the browser's side: show, watch, finish. The new
session then goes back to the transaction, whose checks (consent, act-for...) run as
after any other sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from enum import StrEnum

from idp import context
from idp.accounts.models import Person
from idp.accounts.sessions import SsoSession
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn import methods
from idp.authn.approvals import (
    Approval,
    ApprovalKind,
    ApprovalRefusedError,
    Approvals,
    ApprovalState,
)
from idp.authn.devices import Devices
from idp.authn.release import release_for
from idp.authn.transaction import Transactions
from idp.db import db

TTL = 120  # seconds a QR code can be scanned, confirmed and finished in
BROWSER_KIND = "qr-browser"  # beside each approval: the browser it belongs to
SHOWN_KIND = "qr-shown"  # tickets made per address and minute
SHOWN_PER_MINUTE = 30
PLATFORM = "统一身份认证平台"  # who asks, when the person signs in to no service in particular


class State(StrEnum):
    pending = "pending"
    scanned = "scanned"
    approved = "approved"
    denied = "denied"
    expired = "expired"
    consumed = "consumed"


class Move(StrEnum):
    scan = "scan"  # the app read the code (the app's side)
    approve = "approve"  # confirmed on the phone (the app's side)
    deny = "deny"  # declined on the phone (the app's side)
    time_up = "time_up"
    finish = "finish"  # this browser opens its session


TRANSITIONS: dict[tuple[State, Move], State] = {
    (State.pending, Move.scan): State.scanned,
    (State.pending, Move.approve): State.approved,
    (State.pending, Move.deny): State.denied,
    (State.scanned, Move.approve): State.approved,
    (State.scanned, Move.deny): State.denied,
    (State.pending, Move.time_up): State.expired,
    (State.scanned, Move.time_up): State.expired,
    (State.approved, Move.time_up): State.expired,
    (State.approved, Move.finish): State.consumed,
}


@dataclass(frozen=True)
class Ticket:
    approval_id: str
    payload: str  # what the QR code says: {issuer}/qr/<approval id>
    expires_at: int
    state: State


@dataclass(frozen=True)
class Finished:
    token: str  # the new SSO session's cookie
    session: SsoSession
    txn_id: str | None  # the transaction to go back to; None: a sign-in of our own
    next_url: str | None


@dataclass(frozen=True)
class Refused:
    problem: str  # too_many | txn_expired | other_browser | a State the ticket is in


# -- SHOW -------------------------------------------------------------------------------
def show(
    *, txn_id: str | None, next_url: str | None, browser: str, location: str, ip: str | None
) -> Ticket | Refused:
    """A new ticket for this browser (`browser`: its secret) to show as a QR code."""
    store = context.store()
    if ip and store.incr(SHOWN_KIND, ip, 60) > SHOWN_PER_MINUTE:
        return Refused("too_many")
    client_name, scopes, level = PLATFORM, [], 0
    if txn_id:
        txn = Transactions(store).find(txn_id)
        if txn is None:
            return Refused("txn_expired")
        if txn.protocol != "account":
            client_name = txn.requester.name
            scopes = sorted(release_for(txn.requester, txn.scopes, txn.claims).scopes)
        level = txn.level
    approval = Approvals(store).create(
        Approval(
            kind=ApprovalKind.qr,
            txn_id=txn_id or "",
            client_name=client_name,
            expires_at=int(time.time()) + TTL,
            scopes=scopes,
            location=location,
            level=level,
        )
    )
    store.upsert(BROWSER_KIND, approval.id, {"browser": _digest(browser), "next": next_url}, TTL)
    return _ticket(approval)


def again(approval_id: str, browser: str) -> Ticket | None:
    """The ticket this browser showed before (a reload, the no-script button), as it is
    now; None when it is gone or is another browser's."""
    if not _belongs(approval_id, browser):
        return None
    approval = Approvals(context.store()).find(approval_id)
    return _ticket(approval) if approval is not None else None


# -- watch ------------------------------------------------------------------------------
def status(approval_id: str, browser: str) -> State | None:
    """Where this browser's ticket is (the page asks every second); None when it is not
    this browser's, which is all another browser learns."""
    if not _belongs(approval_id, browser):
        return None
    approval = Approvals(context.store()).find(approval_id)
    return State.expired if approval is None else _state(approval)


# -- FINISH -----------------------------------------------------------------------------
def finish(
    approval_id: str, browser: str, *, ip: str | None, user_agent: str | None
) -> Finished | Refused:
    """The browser that showed the code opens its session, once the phone approved it."""
    store, approvals = context.store(), Approvals(context.store())
    binding = store.find(BROWSER_KIND, approval_id)
    if binding is None or not _same(binding["browser"], browser):
        _refused(approvals.find(approval_id), ip, "qr_other_browser")
        return Refused("other_browser")
    current = approvals.find(approval_id)
    if current is None or (_state(current), Move.finish) not in TRANSITIONS:
        return Refused(State.expired if current is None else _state(current))
    try:
        approval = approvals.finish(approval_id)  # once: a second finish is refused here
    except ApprovalRefusedError:
        found = approvals.find(approval_id)
        return Refused(State.expired if found is None else _state(found))

    person = db.session.get(Person, approval.person_id) if approval.person_id else None
    device = Devices(db.session).get(approval.device_id)
    if person is None or not person.active or device is None or device.person_id != person.id:
        _refused(approval, ip, "qr_device_or_person_gone")  # removed since it approved
        return Refused(State.expired)
    also = (methods.FACE,) if "face" in approval.amr else ()
    proof = methods.evidence(person, methods.APP_KEY, *also)
    token, sso = methods.open_session(
        context.sessions(), proof, channel="web", ip=ip, user_agent=user_agent, device=device.name
    )
    record_event(
        db.session,
        Event.login_succeeded,
        person_id=person.id,
        channel="web",
        session_id=sso.id,
        ip=ip,
        detail={
            "amr": sso.amr,
            "acr": sso.acr,
            "method": "qr",
            "approval": approval.id,
            "device_id": device.id,
            "location": approval.location,
        },
    )
    db.session.commit()
    return Finished(token, sso, approval.txn_id or None, binding.get("next"))


# -- the parts --------------------------------------------------------------------------
def _state(approval: Approval) -> State:
    if approval.state is ApprovalState.consumed:
        return State.consumed
    if approval.expired:
        return State.expired
    return State(approval.state.value)


def _ticket(approval: Approval) -> Ticket:
    payload = f"{context.settings().issuer.rstrip('/')}/qr/{approval.id}"
    return Ticket(approval.id, payload, approval.expires_at, _state(approval))


def _digest(browser: str) -> str:
    return hashlib.sha256(browser.encode()).hexdigest()


def _same(digest: object, browser: str) -> bool:
    return (
        bool(browser) and isinstance(digest, str) and hmac.compare_digest(digest, _digest(browser))
    )


def _belongs(approval_id: str, browser: str) -> bool:
    binding = context.store().find(BROWSER_KIND, approval_id)
    return binding is not None and _same(binding["browser"], browser)


def _refused(approval: Approval | None, ip: str | None, reason: str) -> None:
    """An audit row for a finish that opened nothing (another browser, a removed device)."""
    if approval is None:
        return
    record_event(
        db.session,
        Event.login_failed,
        person_id=approval.person_id,
        channel="web",
        ip=ip,
        detail={"reason": reason, "method": "qr", "approval": approval.id},
    )
    db.session.commit()
