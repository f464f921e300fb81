"""SMS gateway adapter for the signed-JSON protocol our reference gateway speaks."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from connectors.errors import ConnectorUnavailable
from connectors.http import DEFAULT_TIMEOUT, SignedClient
from connectors.sms import SmsMessage, SmsReceipt

__all__ = ["GovJsonSmsGateway"]

SERVICE = "SMS gateway"


class GovJsonSmsGateway:
    """`POST /v1/messages {"phone", "template", "params"}` → `{"message_id"}`;
    `GET /v1/outbox?phone=` → `{"messages": [...]}` (reference gateway only)."""

    def __init__(
        self,
        base_url: str,
        key: bytes,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = SignedClient(base_url, key, service=SERVICE, timeout=timeout, clock=clock)

    def send(self, phone: str, template: str, params: Mapping[str, str]) -> SmsReceipt:
        answer = self._client.call(
            "POST", "/v1/messages", {"phone": phone, "template": template, "params": dict(params)}
        )
        message_id = answer.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            raise ConnectorUnavailable(f"{SERVICE} gave an answer we do not understand")
        return SmsReceipt(message_id)

    def outbox(self, phone: str) -> list[SmsMessage]:
        answer = self._client.call("GET", "/v1/outbox", query={"phone": phone})
        messages = answer.get("messages")
        if not isinstance(messages, list):
            raise ConnectorUnavailable(f"{SERVICE} gave an answer we do not understand")
        return [_message(m) for m in messages]

    def ping(self) -> None:
        self._client.call("GET", "/v1/health")

    def close(self) -> None:
        self._client.close()


def _message(raw: Any) -> SmsMessage:
    try:
        return SmsMessage(
            message_id=str(raw["message_id"]),
            phone=str(raw["phone"]),
            template=str(raw["template"]),
            params={str(k): str(v) for k, v in dict(raw["params"]).items()},
            text=str(raw["text"]),
            sent_at=float(raw["sent_at"]),
        )
    except (KeyError, TypeError, ValueError):
        raise ConnectorUnavailable(f"{SERVICE} gave an answer we do not understand") from None
