"""SMS gateway (短信网关): send a message from a template registered with the gateway.

The reference gateway (and the fake) know four templates:
`verification_code` (params `code`, `minutes`), `agent_authorised` (param `org_name`),
`phone_changed` (param `phone`, the new number masked: the notice to the old number) and
`closure_requested` (param `date`, when the account closes).
`SmsOutbox` is what the reference gateway and the fake add for the demo and tests: the
messages "delivered" to a phone. Real gateways have no outbox. Domain code depends on
these interfaces only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["SmsGateway", "SmsMessage", "SmsOutbox", "SmsReceipt"]


@dataclass(frozen=True)
class SmsReceipt:
    message_id: str


@dataclass(frozen=True)
class SmsMessage:
    message_id: str
    phone: str
    template: str
    params: Mapping[str, str] = field(hash=False)
    text: str
    sent_at: float


class SmsGateway(Protocol):
    def send(self, phone: str, template: str, params: Mapping[str, str]) -> SmsReceipt:
        """Hand one message to the gateway. Raises ConnectorRejected for a malformed
        phone number, an unknown template or wrong params; ConnectorUnavailable when the
        gateway gave no usable answer (the message may or may not go out)."""
        ...

    def ping(self) -> None:
        """Return when the gateway is reachable and accepts our key; raise
        ConnectorUnavailable otherwise."""
        ...


@runtime_checkable
class SmsOutbox(Protocol):
    def outbox(self, phone: str) -> list[SmsMessage]:
        """Messages sent to `phone` ("": to every phone), oldest first (the last 50 of
        each phone at most)."""
        ...
