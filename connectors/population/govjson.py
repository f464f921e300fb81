"""Population registry adapter for the signed-JSON protocol our reference service speaks."""

from __future__ import annotations

import time
from collections.abc import Callable

from connectors.errors import ConnectorUnavailable
from connectors.http import DEFAULT_TIMEOUT, SignedClient
from connectors.population import MATCH_RESULTS, PersonRecordMatch

__all__ = ["GovJsonPopulationRegistry"]

SERVICE = "population registry"


class GovJsonPopulationRegistry:
    """`POST /v1/persons/verify {"name", "id_number"}` → `{"result", "photo_template_id"}`."""

    def __init__(
        self,
        base_url: str,
        key: bytes,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = SignedClient(base_url, key, service=SERVICE, timeout=timeout, clock=clock)

    def verify(self, name: str, id_number: str) -> PersonRecordMatch:
        answer = self._client.call(
            "POST", "/v1/persons/verify", {"name": name, "id_number": id_number}
        )
        result, photo = answer.get("result"), answer.get("photo_template_id")
        if result not in MATCH_RESULTS or not (photo is None or isinstance(photo, str)):
            raise ConnectorUnavailable(f"{SERVICE} gave an answer we do not understand")
        return PersonRecordMatch(result, photo if result == "match" else None)

    def ping(self) -> None:
        self._client.call("GET", "/v1/health")

    def close(self) -> None:
        self._client.close()
