"""Step-up (实人核验): a signed-in person proves a level their session does not have yet,
with a live face matched to the registry photo, on this page or in the official app.

By face, on this page (the app's web view posts the image):

    live image + liveness token
        -> [real-person check passes?] (realname/proofing.py: loa:3 first, tries limited,
           the registry photo, the face service) --no--> the reason, session unchanged
        -> the person's level is at least loa:4; the session gains amr `face` and the
           level a face check gives (idp/authn/methods.py), atomically
        -> a transaction that asked for it goes on (its checks run again)

By an approval in the app (idp/authn/approvals.py), for a transaction that asked for it:

    ask_app: an approval (kind step_up) for the session's person, shown on their devices;
             remembered as this browser session's (BINDING)
        -> the page waits (app_state: waiting | approved | denied | gone)
        -> the app answers: approve with a face check (amr swk + face), without (swk), deny
    finish_app: only this browser session, only its person, once (Approvals.finish)
        -> the session gains what the approval proved, capped as any method is: the app
           key alone gives no more than loa:3, with a face loa:4 for a loa-4 person
        -> the transaction goes on (its checks run again: without a face, it asks again)
"""

from __future__ import annotations

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
    OPEN,
    Approval,
    ApprovalKind,
    ApprovalRefusedError,
    Approvals,
    ApprovalState,
)
from idp.authn.transaction import Transaction
from idp.db import db
from realname.proofing import Attempts, FaceOutcome, prove_real_person

APPROVAL_TTL = 180  # seconds for the person to pick up the phone and look into it
BINDING = "step-up-app"  # approval id -> the browser session that asked, its transaction


def with_face(
    sso: SsoSession, person: Person, *, image_b64: str, liveness_token: str, attempts: Attempts
) -> tuple[FaceOutcome, SsoSession | None]:
    """The check's outcome, and the session as it is now (raised when verified; None if
    it ended meanwhile)."""
    connectors = context.connectors()
    outcome = prove_real_person(
        db.session,
        context.accounts(),
        connectors.population,
        connectors.face,
        person,
        image_b64=image_b64,
        liveness_token=liveness_token,
        channel=sso.channel,
        attempts=attempts,
    )
    db.session.commit()
    if outcome is not FaceOutcome.verified:
        return outcome, sso
    proof = methods.evidence(person, methods.FACE)
    return outcome, methods.raise_session(context.sessions(), sso, proof)


class AppState(StrEnum):
    waiting = "waiting"  # not answered yet (pending, or scanned)
    approved = "approved"  # to be finished by the browser that asked
    denied = "denied"
    gone = "gone"  # expired, finished, or not this browser session's


def ask_app(sso: SsoSession, txn: Transaction) -> Approval:
    """Ask the person's devices to approve the step-up `txn` wants, for this session."""
    approval = Approval(
        kind=ApprovalKind.step_up,
        txn_id=txn.id,
        client_name=txn.requester.name,
        expires_at=int(time.time()) + APPROVAL_TTL,
        person_id=sso.person_id,
        scopes=list(txn.scopes),
        level=txn.level,
    )
    binding = {"session_id": sso.id, "txn_id": txn.id}
    context.store().upsert(BINDING, approval.id, binding, APPROVAL_TTL)
    return Approvals(context.store()).create(approval)


def app_state(sso: SsoSession, approval_id: str) -> tuple[AppState, str | None]:
    """Where the approval is, as this browser session may know it, and its transaction."""
    found = _bound(sso, approval_id)
    if found is None:
        return AppState.gone, None
    approval, txn_id = found
    if approval.state in OPEN:
        return AppState.waiting, txn_id
    if approval.state is ApprovalState.approved:
        return AppState.approved, txn_id
    if approval.state is ApprovalState.denied:
        return AppState.denied, txn_id
    return AppState.gone, txn_id


@dataclass(frozen=True)
class AppFinish:
    state: AppState
    txn_id: str | None  # the transaction to go on with
    sso: SsoSession | None  # the session as it is now (None: it ended meanwhile)
    amr: tuple[str, ...] = ()  # what the approval proved, when used


def finish_app(sso: SsoSession, person: Person, approval_id: str) -> AppFinish:
    """Use an approved approval, once: the session is raised by what it proved."""
    state, txn_id = app_state(sso, approval_id)
    if state is not AppState.approved:
        return AppFinish(state, txn_id, sso)
    try:
        approval = Approvals(context.store()).finish(approval_id)
    except ApprovalRefusedError:  # another request of this browser finished it first
        return AppFinish(AppState.gone, txn_id, sso)
    context.store().destroy(BINDING, approval_id)
    proof = methods.evidence_for_amr(person, approval.amr)
    if proof is None or methods.APP_KEY.amr not in proof.amr:
        return AppFinish(AppState.gone, txn_id, sso)  # it proved nothing we know of
    raised = methods.raise_session(context.sessions(), sso, proof)
    record_event(
        db.session,
        Event.session_stepped_up,
        person_id=person.id,
        channel=sso.channel,
        session_id=sso.id,
        detail={
            "by": "app",
            "approval_id": approval.id,
            "device_id": approval.device_id,
            "amr": proof.amr,
            "acr": raised.acr if raised else None,
        },
    )
    db.session.commit()
    return AppFinish(AppState.approved, txn_id, raised, tuple(proof.amr))


def _bound(sso: SsoSession, approval_id: str) -> tuple[Approval, str] | None:
    """The approval and its transaction, if this session asked for it, for its person."""
    binding = context.store().find(BINDING, approval_id)
    if binding is None or binding.get("session_id") != sso.id:
        return None
    approval = Approvals(context.store()).find(approval_id)
    if approval is None or approval.person_id != sso.person_id or approval.expired:
        return None
    return approval, str(binding["txn_id"])
