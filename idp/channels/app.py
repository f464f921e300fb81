"""The official app as an authenticator: the app API under /app/api (JSON only).

    sign in as the app (code + PKCE, the sign-in form) -> access token
        -> POST /devices with a proof carrying the new public key (jwk) and the token (ath)
           -> the device is enrolled: from now on every request is signed by its key
    GET  /approvals                 what this person's devices should show now (and
                                    `closure_due_at` when the account is set to close)
    POST /scan {"text"}             a QR's payload or a verification_uri_complete: the
                                    approval becomes this device's (and no other's)
    POST /approvals/<id>/approve    {"face": false} -> amr swk; {"face": true, "image",
                                    "liveness_token"} -> the face against the registry
                                    photo first -> amr swk face
    POST /approvals/<id>/deny
    GET  /devices, DELETE /devices/<id>   the person's enrolled devices

No cookie and no CSRF token: every request but the enrolment carries a DPoP-shaped proof
(idp/authn/devices.py) whose `kid` is the device's id, bound to the method, this URL,
the time and a single-use `jti`. What an approval proves is used by the channel that
waits for it (QR page, device grant, CIBA, step-up), through the same checks as every
sign-in; this API only lists, scans and answers. Who is asking is app_proofs.py's; how
a refusal is said (JSON, always) app_answers.py's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, Response, jsonify, request

from idp import context
from idp.accounts.models import Person
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn.approvals import (
    OPEN,
    Approval,
    ApprovalRefusedError,
    Approvals,
    announce,
    user_code_alias,
)
from idp.authn.devices import Device, Devices
from idp.channels.app_answers import answer_in_json, body, refuse
from idp.channels.app_proofs import enrolling, signed_by_device
from idp.db import db
from realname.proofing import Attempts, FaceOutcome, prove_real_person

bp = Blueprint("app_api", __name__, url_prefix="/app/api")

CHANNEL = "app"
MAX_TEXT = 512  # a scanned code: an issuer URL and an id or a user code
MAX_TOKEN = 256  # a liveness token
# A device that scans codes naming nothing this often is guessing user codes.
SCAN_MISSES, SCAN_MISS_WINDOW = 10, 600
MISSES, BLOCKED = "app-scan-misses", "app-scan-blocked"


# -- enrolment ------------------------------------------------------------------------------
@bp.post("/devices")
def enrol() -> tuple[Response, int]:
    """A signed-in app enrols the public half of a key it made: the proof carries the key
    (`jwk`) and is bound to the access token the app got at sign-in (`ath`)."""
    person, key = enrolling()
    name = body().get("name")
    if not isinstance(name, str):
        refuse(400, "invalid_request", "name (the device's name) is required")
    try:
        device = Devices(db.session).enrol(person.id, key, name)
    except ValueError as exc:
        status = 400 if str(exc).startswith("a device name") else 409
        refuse(status, "invalid_request" if status == 400 else "refused", str(exc))
    record_event(
        db.session,
        Event.app_device_enrolled,
        person_id=person.id,
        channel=CHANNEL,
        detail={"device_id": device.id, "name": device.name},
    )
    db.session.commit()
    return jsonify(device_id=device.id, name=device.name), 201


# -- approvals ------------------------------------------------------------------------------
@bp.get("/approvals")
def pending() -> Response:
    _device, person = signed_by_device()
    found = _approvals().pending_for(person.id)
    # An account set to close still works; the app says so with what it shows, as the web
    # sign-in does, so that a closure asked by someone else is noticed in time.
    listed: dict[str, Any] = {"approvals": [a.public() for a in found]}
    if person.closure_due_at is not None:
        listed["closure_due_at"] = _iso(person.closure_due_at)
    return jsonify(listed)


@bp.post("/scan")
def scan() -> Response:
    """The app read a code (the web page's QR, a kiosk's verification_uri_complete): the
    approval it names becomes this device's."""
    device, person = signed_by_device()
    text = body().get("text")
    if not isinstance(text, str) or not 0 < len(text) <= MAX_TEXT:
        refuse(400, "invalid_request", f"text (what the camera read, {MAX_TEXT} at most)")
    if context.store().find(BLOCKED, device.id):
        refuse(429, "slow_down", "too many codes that name nothing; try again later")
    found = _named_by(text)
    if found is None:
        _missed(device)
        refuse(404, "not_found", "this code names no request (it may have expired)")
    _open(found, person, device)
    try:
        scanned = _approvals().scan(found.id, person_id=person.id, device_id=device.id)
    except ApprovalRefusedError as exc:
        refuse(409, "refused", str(exc))
    return jsonify(scanned.public())


def _named_by(text: str) -> Approval | None:
    """The approval a scanned code names: `{issuer}/qr/<id>` or `{issuer}/device?user_code=`."""
    issuer = context.settings().issuer.rstrip("/")
    if not text.startswith(issuer + "/"):
        refuse(400, "invalid_request", "this code is not from this provider")
    parts = urlsplit(text[len(issuer) :])
    if parts.path.startswith("/qr/"):
        approval_id = parts.path.removeprefix("/qr/")
        ok = 0 < len(approval_id) <= 128 and approval_id.isprintable() and "/" not in approval_id
        return _approvals().find(approval_id) if ok else None
    if parts.path == "/device":
        codes = parse_qs(parts.query).get("user_code", [])
        if len(codes) != 1 or not 0 < len(codes[0]) <= 64:
            return None
        return _approvals().by_alias(user_code_alias(codes[0]))
    refuse(400, "invalid_request", "this code names nothing the app can approve")


def _missed(device: Device) -> None:
    store = context.store()
    if store.incr(MISSES, device.id, SCAN_MISS_WINDOW) >= SCAN_MISSES:
        store.upsert(BLOCKED, device.id, {"device_id": device.id}, SCAN_MISS_WINDOW)


@bp.post("/approvals/<approval_id>/approve")
def approve(approval_id: str) -> Response:
    device, person = signed_by_device()
    asked = body()
    face = asked.get("face", False)
    if not isinstance(face, bool):
        refuse(400, "invalid_request", "face is true or false")
    found = _answerable(approval_id, person, device)
    if face:
        _check_face(person, asked)
    return _answer(found, person, device, approve=True, amr=["swk", "face"] if face else ["swk"])


@bp.post("/approvals/<approval_id>/deny")
def deny(approval_id: str) -> Response:
    device, person = signed_by_device()
    found = _answerable(approval_id, person, device)
    return _answer(found, person, device, approve=False, amr=[])


def _answerable(approval_id: str, person: Person, device: Device) -> Approval:
    """The approval, if this device may answer it now (the store decides again, atomically,
    when it is answered)."""
    found = _approvals().find(approval_id)
    if found is None or found.person_id not in (None, person.id):
        refuse(404, "not_found", "no such request (it may have expired)")
    if found.person_id is None:
        refuse(409, "not_scanned", "scan this request's code first")
    _open(found, person, device)
    return found


def _open(found: Approval, person: Person, device: Device) -> None:
    """Refuse an approval this device can no longer take or answer."""
    if found.expired:
        refuse(404, "expired", "this request has expired")
    if found.person_id not in (None, person.id) or found.device_id not in (None, device.id):
        refuse(409, "taken", "another device has taken this request")
    if found.state not in OPEN:
        refuse(409, "already_answered", f"this request has been answered ({found.state})")


def _check_face(person: Person, asked: dict[str, Any]) -> None:
    """A live face against the registry photo, as the face page does (idp/flows/step_up.py)."""
    image, token = asked.get("image"), asked.get("liveness_token")
    if not isinstance(image, str) or not isinstance(token, str) or len(token) > MAX_TOKEN:
        refuse(400, "invalid_request", "a face check needs image (base64) and liveness_token")
    connectors = context.connectors()
    outcome = prove_real_person(
        db.session,
        context.accounts(),
        connectors.population,
        connectors.face,
        person,
        image_b64=image,
        liveness_token=token,
        channel=CHANNEL,
        attempts=_attempts(),
    )
    db.session.commit()
    reasons = {
        FaceOutcome.needs_real_name: (403, "verify your real name first"),
        FaceOutcome.not_live: (403, "the liveness check failed"),
        FaceOutcome.mismatch: (403, "the face does not match the registry photo"),
        FaceOutcome.too_many_attempts: (429, "too many face checks today; try tomorrow"),
        FaceOutcome.unavailable: (503, "the face service is not answering; try again later"),
    }
    if outcome is not FaceOutcome.verified:
        status, reason = reasons[outcome]
        refuse(status, f"face_{outcome.value}", reason)


def _attempts() -> Attempts:
    settings = context.settings()
    return Attempts(
        store=context.store(),
        address=request.remote_addr,
        per_account=settings.realname_tries_per_account,
        per_address=settings.realname_tries_per_address,
        per_id_number=settings.realname_tries_per_id_number,
        face_per_account=settings.realname_face_tries_per_account,
    )


def _answer(
    found: Approval, person: Person, device: Device, *, approve: bool, amr: list[str]
) -> Response:
    try:
        answered = _approvals().answer(
            found.id, person_id=person.id, device_id=device.id, approve=approve, amr=amr
        )
    except ApprovalRefusedError as exc:
        refuse(409, "refused", str(exc))
    record_event(
        db.session,
        Event.approval_answered,
        person_id=person.id,
        channel=CHANNEL,
        detail={
            "approval": answered.kind.value,
            "txn_id": answered.txn_id,
            "client": answered.client_name,
            "approved": approve,
            "amr": answered.amr,
            "device_id": device.id,
        },
    )
    db.session.commit()
    announce(answered)  # the channel waiting for it (a CIBA ping) hears of it now
    return jsonify({**answered.public(), "amr": answered.amr})


def _approvals() -> Approvals:
    return Approvals(context.store())


# -- the person's devices -------------------------------------------------------------------
@bp.get("/devices")
def devices() -> Response:
    device, person = signed_by_device()
    return jsonify(
        devices=[
            {
                "device_id": d.id,
                "name": d.name,
                "created_at": _iso(d.created_at),
                "last_used_at": _iso(d.last_used_at),
                "this_device": d.id == device.id,
            }
            for d in Devices(db.session).of(person.id)
        ]
    )


@bp.delete("/devices/<device_id>")
def remove(device_id: str) -> Response:
    device, person = signed_by_device()
    removed = Devices(db.session).remove(person.id, device_id)
    if removed is None:
        refuse(404, "not_found", "no such device of yours")
    record_event(
        db.session,
        Event.app_device_removed,
        person_id=person.id,
        channel=CHANNEL,
        detail={"device_id": device_id, "by_device": device.id},
    )
    db.session.commit()
    return jsonify(device_id=device_id, removed=True)


def _iso(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


answer_in_json(bp)
