"""Helpers of the introspection tests (their fixtures are in conftest.py)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

from idp.oidc.fast_introspection import FastIntrospection
from tests.integration.oidc.conftest import RegisteredClient

Request = dict[str, Any]


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str]
    via_flask: bool  # the fast path handed the request to Flask


def fast_layer(app: Any) -> FastIntrospection:
    layer = app.wsgi_app
    while not isinstance(layer, FastIntrospection):
        layer = layer.app if isinstance(layer, ProxyFix) else layer.wsgi_app
    return layer


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def ask(rp: RegisteredClient, token: str, **form: str) -> Request:
    return {"headers": rp.basic, "data": {"token": token, **form}}


NOT_ACTIVE = {"active": False}
HTTPS_REQUIRED = {"error": "invalid_request", "error_description": "OAuth 2 MUST utilize https."}
