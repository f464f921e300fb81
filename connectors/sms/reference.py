"""Reference SMS gateway: a separate HTTP process that "delivers" to an in-memory outbox.

python -m connectors.sms.reference --port 8103 --key-file K
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Flask, request

from connectors.errors import ConnectorRejected
from connectors.service import json_body, serve, signed_app
from connectors.sms.fake import FakeSmsGateway
from connectors.synthetic import Dataset

__all__ = ["create_app"]


def create_app(key: bytes, data: Dataset | None = None) -> Flask:
    app = signed_app(__name__, key)
    gateway = FakeSmsGateway()

    @app.post("/v1/messages")
    def send() -> dict[str, Any]:
        body = json_body()
        phone, template, params = body.get("phone"), body.get("template"), body.get("params")
        if not isinstance(phone, str) or not isinstance(template, str):
            raise ConnectorRejected("malformed_request", "phone and template must be strings")
        if not isinstance(params, dict):
            raise ConnectorRejected("malformed_request", "params must be an object")
        return {"message_id": gateway.send(phone, template, params).message_id}

    @app.get("/v1/outbox")
    def outbox() -> dict[str, Any]:
        phone = request.args.get("phone", "")
        return {"messages": [asdict(m) for m in gateway.outbox(phone)]}

    return app


if __name__ == "__main__":
    serve(create_app, "Reference SMS gateway with an outbox.", needs_data=False)
