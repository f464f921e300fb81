"""The hotline (服务热线 12345) as a channel: the agent desk is a confidential OpenID CIBA
client (idp/oidc/ciba.py); a caller approves its request in the app, or, without the
app, reads back a code sent by SMS to the phone registered for them:

    desk: POST /backchannel_authenticate/sms  auth_req_id
        -> its own request, still waiting, for a level a code read back can reach
        -> a code to the caller's registered phone (idp/accounts/sms_codes.py, its limits)
        -> 200 {"auth_req_id", "sent_to": "170****0101", "expires_in"}
    caller reads it out; desk: POST /backchannel_authenticate/sms/verify  auth_req_id, code
        -> right: the request's approval is answered, amr ["sms", "tel"] (the phone held,
           the caller on the line: at most loa:3, whatever the person's level)
        -> wrong: tries left, counted atomically; the last wrong try denies the request
    the desk then polls /token as for an app approval (idp/oidc/grants/ciba.py)

Only a client of the hotline channel may ask for codes. The desk authenticates as at the
token endpoint (form parameters, every confidential method); answers are JSON, errors
in OAuth's format. Whether the tokens come is still decided at /token, by the same
checks as every sign-in; the level is looked at here only so as not to text a code that
can never be enough.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NoReturn

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
    UnauthorizedClientError,
)
from flask import Blueprint, Response, request

from idp import context
from idp.accounts import sms_codes
from idp.accounts.models import Person
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn.approvals import OPEN, Approval, ApprovalRefusedError, Approvals, announce
from idp.authn.methods import PHONE_CALL, SMS_CODE, evidence
from idp.crypto.pii import mask_phone
from idp.db import db
from idp.oidc.ciba_requests import UNKNOWN_REQUEST, CibaRequest, CibaRequests
from idp.oidc.features import BACKCHANNEL_AUTHENTICATION, CIBA_GRANT, FEATURES
from idp.oidc.machine.requests import MachineRequest
from idp.oidc.models import Client
from idp.oidc.parameters import refuse_repeated_parameters
from idp.oidc.runtime import oidc

CHANNEL = "hotline"
CODE_KIND = "hotline-sms"
SENDS = "hotline-sms-sends"
MAX_SENDS = 3  # codes per request: each has sms_codes.MAX_TRIES tries
READ_BACK = (SMS_CODE, PHONE_CALL)  # amr ["sms", "tel"]
MAX_CODE = 16

bp = Blueprint("hotline", __name__, url_prefix=BACKCHANNEL_AUTHENTICATION.path)


@dataclass(frozen=True)
class Waiting:
    """A CIBA request of the desk's that its caller has not answered yet."""

    client: Client
    found: CibaRequest
    approval: Approval
    person: Person


@bp.post("/sms")
def send() -> Response:
    waiting = _waiting_request()
    person = waiting.person
    reached = evidence(person, *READ_BACK).level
    if waiting.approval.level > reached:
        _refuse(
            400,
            "unmet_authentication_requirements",
            f"a code read back reaches loa:{reached} for this caller, the request asks for "
            f"loa:{waiting.approval.level}: the caller must approve in the app",
        )
    phone = context.accounts().phone(person)
    if phone is None:
        _refuse(400, "invalid_request", "the caller has no phone number registered")
    store = context.store()
    if store.incr(SENDS, waiting.found.id, sms_codes.CODE_TTL) > MAX_SENDS:
        _refuse(429, "too_many_codes", f"at most {MAX_SENDS} codes per request")
    flow = sms_codes.send_code(
        store,
        context.connectors().sms,
        CODE_KIND,
        phone,
        None,  # the desk's address serves every caller: the phone's own limits apply
        {"auth_req_id": waiting.found.id},
    )
    if isinstance(flow, sms_codes.CodeRefused):
        if flow.problem is sms_codes.CodeProblem.sms_unavailable:
            _refuse(503, "temporarily_unavailable", "the SMS gateway is not answering")
        _refuse(429, "too_many_codes", "a code was sent to this phone a moment ago")
    CibaRequests(store).set(waiting.found.id, sms_flow=flow)
    _record(Event.hotline_code_sent, waiting, {})
    return _json(
        {
            "auth_req_id": waiting.found.id,
            "sent_to": mask_phone(phone),
            "expires_in": sms_codes.CODE_TTL,
        }
    )


@bp.post("/sms/verify")
def verify() -> Response:
    waiting = _waiting_request()
    code = request.form.get("code", "")
    if not code or len(code) > MAX_CODE:
        raise InvalidRequestError(description="code (the one the caller read out) is required")
    flow, store = waiting.found.sms_flow, context.store()
    if flow is None:
        raise InvalidRequestError(description="no code has been sent for this request")
    checked = sms_codes.check_code(store, CODE_KIND, flow, code)
    if isinstance(checked, sms_codes.CodeRefused):
        if checked.problem is sms_codes.CodeProblem.wrong_code:
            _record(Event.hotline_code_refused, waiting, {"tries_left": checked.tries_left})
            _refuse(
                400,
                "invalid_code",
                f"wrong code: {checked.tries_left} tries left",
                tries_left=checked.tries_left,
            )
        _answer(waiting, approve=False)
        _record(Event.hotline_code_refused, waiting, {"tries_left": 0, "denied": True})
        _refuse(403, "access_denied", "no more tries: the request is denied")
    if checked.get("auth_req_id") != waiting.found.id or not sms_codes.consume_code(
        store, CODE_KIND, flow
    ):
        raise InvalidRequestError(description="this code has been used already")
    _answer(waiting, approve=True)
    _record(Event.hotline_code_verified, waiting, {"amr": [m.amr for m in READ_BACK]})
    return _json({"auth_req_id": waiting.found.id, "approved": True})


# -- the desk and its request ---------------------------------------------------------------
def _waiting_request() -> Waiting:
    """The authenticated desk's request named by auth_req_id, still waiting."""
    server = oidc().server
    oauth = MachineRequest(
        request.base_url, request.environ, (request.args, request.form), lambda: db.session
    )
    refuse_repeated_parameters(oauth)
    client: Client = server.authenticate_client(
        oauth, list(FEATURES.confidential_auth_methods), BACKCHANNEL_AUTHENTICATION.name
    )
    if not client.check_grant_type(CIBA_GRANT) or client.channel != CHANNEL:
        raise UnauthorizedClientError(description="only a hotline desk may ask for codes")
    auth_req_id = oauth.payload.data.get("auth_req_id")
    if not auth_req_id:
        raise InvalidRequestError(description="auth_req_id is required")
    found = CibaRequests(context.store()).find(auth_req_id)
    if found is None or found.client_id != client.client_id:
        raise InvalidGrantError(description=UNKNOWN_REQUEST)
    approval = Approvals(context.store()).find(found.approval_id)
    if found.expired or approval is None:
        _refuse(400, "expired_token", "the request has expired")
    if found.refusal is not None or approval.state not in OPEN:
        _refuse(400, "invalid_request", "the request has been answered already")
    person = db.session.get(Person, found.person_id)
    if person is None or not person.active:
        _refuse(403, "access_denied", "this account may not sign in")
    return Waiting(client, found, approval, person)


def _answer(waiting: Waiting, *, approve: bool) -> None:
    """Answer the approval as the caller did on the phone; a ping-mode desk is told."""
    try:
        answered = Approvals(context.store()).answer(
            waiting.approval.id,
            person_id=waiting.person.id,
            device_id="",  # no app device: the phone call itself
            approve=approve,
            amr=[m.amr for m in READ_BACK],
        )
    except ApprovalRefusedError as exc:
        _refuse(400, "invalid_request", f"the request cannot be answered now ({exc})")
    announce(answered)


def _record(event: Event, waiting: Waiting, detail: dict[str, Any]) -> None:
    record_event(
        db.session,
        event,
        person_id=waiting.person.id,
        actor=f"client:{waiting.client.client_id}",
        channel=CHANNEL,
        detail={"client_id": waiting.client.client_id, **detail},
    )
    db.session.commit()


# -- answers --------------------------------------------------------------------------------
class HotlineError(OAuth2Error):
    """An OAuth-style refusal with fields of its own (tries left)."""

    def __init__(self, status: int, error: str, description: str, **extra: Any) -> None:
        super().__init__(description=description, status_code=status, error=error)
        self.extra = extra

    def get_body(self) -> list[tuple[str, Any]]:
        return [*super().get_body(), *self.extra.items()]


def _refuse(status: int, error: str, description: str, **extra: Any) -> NoReturn:
    raise HotlineError(status, error, description, **extra)


@bp.errorhandler(OAuth2Error)
def _oauth_error(error: OAuth2Error) -> Response:
    status, body, headers = error()
    return _json(body, status, dict(headers))


def _json(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
