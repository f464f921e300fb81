"""Helpers for the app API tests: the official app's client, an access token got through
the sign-in form, a phone with its own key that signs proofs (written here, not borrowed
from idp_app, so the API is checked against the proof shape itself), approvals made
the way the channels make them."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from joserfc import jws
from joserfc.jwk import ECKey
from sqlalchemy import select

from idp import context
from idp.audit.models import AuditEvent
from idp.authn.approvals import Approval, ApprovalKind, Approvals
from idp.db import db
from idp.oidc.clients import create_client
from tests.integration.oidc.conftest import REDIRECT, Browser, RegisteredClient, redeem

APP_REDIRECT = "http://127.0.0.1/app/callback"


def official_app(app: Flask) -> RegisteredClient:
    """The official app's client, as `idp db upgrade` makes it."""
    import admin.services

    with app.app_context():
        client_id = context.settings().app_client_id
        admin.services.clients().ensure_official_app(client_id)
    return RegisteredClient(client_id, None, APP_REDIRECT)


def relying_party(app: Flask) -> RegisteredClient:
    """A departmental system (another client than the app)."""
    with app.app_context(), db.transaction() as session:
        new = create_client(
            session,
            name="社保系统",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code"],
            scopes=["openid", "profile"],
        )
    return RegisteredClient(new.client.client_id, new.secret, REDIRECT)


def access_token(app: Flask, person: dict[str, str], client: RegisteredClient) -> str:
    """What `client` gets when `person` signs in through the sign-in form (code + PKCE)."""
    code, verifier = Browser(app.test_client(), person).code_for(client)
    answer = redeem(app.test_client(), client, code, verifier)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return str(answer.json["access_token"])


def make_proof(
    key: ECKey,
    method: str,
    url: str,
    *,
    kid: str | None = None,
    token: str | None = None,
    iat: int | None = None,
    jti: str | None = None,
    header: dict[str, Any] | None = None,
) -> str:
    protected: dict[str, Any] = {"typ": "dpop+jwt", "alg": "ES256"}
    if kid is None:
        protected["jwk"] = key.as_dict(private=False)
    else:
        protected["kid"] = kid
    claims: dict[str, Any] = {
        "htm": method,
        "htu": url,
        "iat": int(time.time()) if iat is None else iat,
        "jti": jti or secrets.token_urlsafe(16),
    }
    if token is not None:
        digest = hashlib.sha256(token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    protected.update(header or {})
    return jws.serialize_compact(protected, json.dumps(claims), key, algorithms=["ES256"])


@dataclass
class Phone:
    """One phone with the official app: its key, and once enrolled its device id."""

    app: Flask
    key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256"))
    device_id: str | None = None

    @property
    def issuer(self) -> str:
        return str(self.app.extensions["idp.settings"].issuer).rstrip("/")

    def url(self, path: str) -> str:
        return self.issuer + path

    def enrol(self, bearer: str, name: str = "测试手机", **proof: Any) -> Any:
        """POST /app/api/devices with `bearer`; the proof is bound to it unless `proof`
        says otherwise (`token`: another token's ath, or None)."""
        proof.setdefault("token", bearer)
        value = make_proof(self.key, "POST", self.url("/app/api/devices"), **proof)
        answer = self.app.test_client().post(
            "/app/api/devices",
            json={"name": name},
            headers={"Authorization": f"Bearer {bearer}", "DPoP": value},
        )
        if answer.status_code == 201:
            self.device_id = answer.json["device_id"]
        return answer

    def proof(self, method: str, path: str, **options: Any) -> str:
        options.setdefault("kid", self.device_id)
        return make_proof(self.key, method, self.url(path), **options)

    def call(
        self, method: str, path: str, body: Any = None, *, proof: str | None = None, **options: Any
    ) -> Any:
        value = proof if proof is not None else self.proof(method, path, **options)
        return self.app.test_client().open(path, method=method, json=body, headers={"DPoP": value})


def enrolled_phone(app: Flask, person: dict[str, str], name: str = "测试手机") -> Phone:
    phone = Phone(app)
    answer = phone.enrol(access_token(app, person, official_app(app)), name)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return phone


def make_approval(app: Flask, alias: str | None = None, **fields: Any) -> Approval:
    base: dict[str, Any] = {
        "kind": ApprovalKind.qr,
        "txn_id": f"txn-{secrets.token_hex(4)}",
        "client_name": "测试社保服务",
        "expires_at": int(time.time()) + 120,
    }
    with app.app_context():
        return Approvals(context.store()).create(Approval(**{**base, **fields}), alias=alias)


def approval(app: Flask, approval_id: str) -> Approval | None:
    with app.app_context():
        return Approvals(context.store()).find(approval_id)


def audit_rows(app: Flask, event: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event)))
