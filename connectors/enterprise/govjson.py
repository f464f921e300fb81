"""Enterprise registry adapter for the signed-JSON protocol our reference service speaks."""

from __future__ import annotations

import time
from collections.abc import Callable

from connectors.enterprise import ENTERPRISE_STATUSES, EnterpriseRecord
from connectors.errors import ConnectorUnavailable
from connectors.http import DEFAULT_TIMEOUT, SignedClient

__all__ = ["GovJsonEnterpriseRegistry"]

SERVICE = "enterprise registry"
FIELDS = ("uscc", "name", "status", "legal_rep_name", "legal_rep_id_number")


class GovJsonEnterpriseRegistry:
    """`POST /v1/enterprises/lookup {"uscc"}` → `{"record": {...} | null}`."""

    def __init__(
        self,
        base_url: str,
        key: bytes,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = SignedClient(base_url, key, service=SERVICE, timeout=timeout, clock=clock)

    def lookup(self, uscc: str) -> EnterpriseRecord | None:
        answer = self._client.call("POST", "/v1/enterprises/lookup", {"uscc": uscc})
        record = answer.get("record")
        if record is None:
            return None
        if (
            not isinstance(record, dict)
            or not all(isinstance(record.get(f), str) for f in FIELDS)
            or record["status"] not in ENTERPRISE_STATUSES
            or record["uscc"] != uscc
        ):
            raise ConnectorUnavailable(f"{SERVICE} gave an answer we do not understand")
        return EnterpriseRecord(**{f: record[f] for f in FIELDS})

    def ping(self) -> None:
        self._client.call("GET", "/v1/health")

    def close(self) -> None:
        self._client.close()
