"""Helpers for the hotline tests (test_ciba.py, test_ciba_sms.py): an agent desk
registered as a CIBA client, its requests to /backchannel_authenticate and /token, the
caller answering in the app (the approval answered as the app API answers it), and a
real HTTP server for ping-mode notifications."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flask import Flask
from joserfc.jwk import ECKey
from sqlalchemy import select

from idp.audit.models import AuditEvent
from idp.authn.approvals import Approval, Approvals, announce
from idp.authn.devices import Devices
from idp.db import db
from idp.oidc.ciba_requests import CibaRequest, CibaRequests
from idp.oidc.clients import create_client
from idp.oidc.features import CIBA_GRANT

SCOPES = ("openid", "profile", "phone")


@dataclass
class Desk:
    """An agent desk's registration: its client_id and secret."""

    client_id: str
    secret: str | None

    @property
    def basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def register_desk(
    app: Flask,
    *,
    mode: str = "poll",
    channel: str = "hotline",
    grant_types: tuple[str, ...] = (CIBA_GRANT,),
    **metadata: Any,
) -> Desk:
    metadata.setdefault("name", "12345 热线坐席")
    metadata.setdefault("scopes", list(SCOPES))
    with app.app_context(), db.transaction() as session:
        new = create_client(
            session,
            grant_types=list(grant_types),
            channel=channel,
            backchannel_token_delivery_mode=mode if CIBA_GRANT in grant_types else None,
            **metadata,
        )
    return Desk(new.client.client_id, new.secret)


def start(app: Flask, desk: Desk, **params: str) -> Any:
    """POST /backchannel_authenticate as `desk`: scope openid unless given."""
    params.setdefault("scope", "openid")
    return app.test_client().post("/backchannel_authenticate", data=params, headers=desk.basic)


def started(app: Flask, desk: Desk, **params: str) -> str:
    """The auth_req_id of a request that must be accepted."""
    answer = start(app, desk, **params)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return str(answer.json["auth_req_id"])


def poll(app: Flask, desk: Desk, auth_req_id: str, **form: str) -> Any:
    data = {"grant_type": CIBA_GRANT, "auth_req_id": auth_req_id, **form}
    return app.test_client().post("/token", data=data, headers=desk.basic)


def request_of(app: Flask, auth_req_id: str) -> CibaRequest:
    with app.app_context():
        found = CibaRequests(app.extensions["idp.store"]).find(auth_req_id)
    assert found is not None
    return found


def approval_of(app: Flask, auth_req_id: str) -> Approval:
    with app.app_context():
        found = Approvals(app.extensions["idp.store"]).find(
            request_of(app, auth_req_id).approval_id
        )
    assert found is not None
    return found


def enrol_device(app: Flask, person_id: str, name: str = "Alice 的手机") -> str:
    with app.app_context():
        device = Devices(db.session).enrol(person_id, ECKey.generate_key("P-256"), name)
        db.session.commit()
        return device.id


def answer(
    app: Flask,
    auth_req_id: str,
    *,
    approve: bool = True,
    amr: tuple[str, ...] = ("swk",),
    device_id: str = "",
) -> Approval:
    """The caller answers in the app, and whoever waits is told (as the app API does)."""
    found = request_of(app, auth_req_id)
    with app.test_request_context():
        answered = Approvals(app.extensions["idp.store"]).answer(
            found.approval_id,
            person_id=found.person_id,
            device_id=device_id,
            approve=approve,
            amr=list(amr),
        )
        announce(answered)
    return answered


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def audit_events(app: Flask, event: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == event))
        return list(rows)


@dataclass
class NotificationServer:
    """The desk's client_notification_endpoint: a real HTTP server on loopback that
    records what it is sent and answers `status`."""

    status: int = 204
    received: list[dict[str, Any]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                outer.received.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": self.rfile.read(length),
                    }
                )
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                outer.arrived.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/ciba/notify"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
