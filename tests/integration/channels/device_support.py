"""Helpers for the device grant tests: a kiosk client that starts requests and polls, the
app's answer given the way the app API gives it (the approval scanned, then answered by
an enrolled device of the person), and the provider's Redis and audit rows read back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import select

from idp import context
from idp.audit.models import AuditEvent
from idp.authn.approvals import Approval, Approvals, user_code_alias
from idp.authn.devices import Devices
from idp.db import db
from idp.oidc.clients import create_client
from idp.oidc.device import DeviceAuthorizationEndpoint, DeviceCodes, device_code_id
from idp.oidc.features import DEVICE_CODE_GRANT
from tests.integration.oidc.conftest import RegisteredClient

SECTOR = "renshe.example.test"  # the department the web RP and the kiosk both belong to
SCOPES = ["openid", "profile", "phone", "offline_access"]


def short_interval(monkeypatch: pytest.MonkeyPatch, seconds: int = 1) -> None:
    """Polls `seconds` apart instead of five (slow_down's rule is the same)."""
    monkeypatch.setattr(DeviceAuthorizationEndpoint, "INTERVAL", seconds)


def register_kiosk(app: Flask, *, public: bool = True, **metadata: Any) -> RegisteredClient:
    """A kiosk fleet's client of the department (sector SECTOR)."""
    fields: dict[str, Any] = {
        "name": "社保自助终端",
        "grant_types": [DEVICE_CODE_GRANT, "refresh_token"],
        "scopes": SCOPES,
        "channel": "kiosk",
        "sector_identifier": SECTOR,
        "token_endpoint_auth_method": "none" if public else "client_secret_basic",
        **metadata,
    }
    with app.app_context(), db.transaction() as session:
        new = create_client(session, **fields)
    return RegisteredClient(new.client.client_id, new.secret, "")


@dataclass
class Kiosk:
    """What the kiosk's software does: ask for codes, poll the token endpoint."""

    app: Flask
    rp: RegisteredClient
    address: str = "127.0.0.1"

    def _post(self, path: str, data: dict[str, str]) -> Any:
        headers = self.rp.basic if self.rp.secret else {}
        if not self.rp.secret:
            data = {**data, "client_id": self.rp.client_id}
        return self.app.test_client().post(
            path, data=data, headers=headers, environ_base={"REMOTE_ADDR": self.address}
        )

    def start(self, **params: str) -> Any:
        return self._post("/device_authorization", {"scope": " ".join(SCOPES), **params})

    def codes(self, **params: str) -> dict[str, Any]:
        answer = self.start(**params)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return dict(answer.json)

    def poll(self, device_code: str) -> Any:
        return self._post("/token", {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code})

    def poll_after_interval(self, device_code: str, interval: float = 1.0) -> Any:
        time.sleep(interval + 0.05)
        return self.poll(device_code)


def enrol_device(app: Flask, person_id: str, name: str = "张三的手机") -> str:
    with app.app_context():
        device = Devices(db.session).enrol(person_id, ECKey.generate_key("P-256"), name)
        db.session.commit()
        return device.id


def on_the_app(
    app: Flask,
    person_id: str,
    user_code: str,
    *,
    approve: bool = True,
    amr: list[str] | None = None,
) -> Approval:
    """The person's phone scans the kiosk's QR and answers, as the app API does."""
    device_id = enrol_device(app, person_id)
    with app.app_context():
        approvals = Approvals(context.store())
        found = approvals.by_alias(user_code_alias(user_code))
        assert found is not None
        approvals.scan(found.id, person_id=person_id, device_id=device_id)
        return approvals.answer(
            found.id, person_id=person_id, device_id=device_id, approve=approve,
            amr=amr or ["swk"],
        )  # fmt: skip


def approval_for(app: Flask, user_code: str) -> Approval | None:
    with app.app_context():
        return Approvals(context.store()).by_alias(user_code_alias(user_code))


def stored_interval(app: Flask, device_code: str) -> int:
    with app.app_context():
        found = context.store().find("device-code", device_code_id(device_code))
        assert found is not None
        return int(found["interval"])


def device_codes(app: Flask) -> DeviceCodes:
    return DeviceCodes(app.extensions["idp.store"])


def claims_of(app: Flask, id_token: str) -> dict[str, Any]:
    """The ID token's claims, its signature checked against the published keys."""
    published = app.test_client().get("/.well-known/jwks.json").json["keys"]
    # joserfc cannot import SM2 keys; ID tokens here are RS256
    keys = KeySet.import_key_set({"keys": [k for k in published if k.get("crv") != "SM2"]})
    return dict(jwt.decode(id_token, keys, algorithms=["RS256"]).claims)


def audit_rows(app: Flask, event: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event)))
