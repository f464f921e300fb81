"""Face verification adapter for the signed-JSON protocol our reference service speaks."""

from __future__ import annotations

import time
from collections.abc import Callable

from connectors.errors import ConnectorUnavailable
from connectors.face import FaceResult
from connectors.http import DEFAULT_TIMEOUT, SignedClient

__all__ = ["GovJsonFaceVerifier"]

SERVICE = "face verification"


class GovJsonFaceVerifier:
    """`POST /v1/faces/verify {"photo_template_id", "live_image", "liveness_token"}`
    → `{"liveness": bool, "score": float}`."""

    def __init__(
        self,
        base_url: str,
        key: bytes,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = SignedClient(base_url, key, service=SERVICE, timeout=timeout, clock=clock)

    def verify(
        self, photo_template_id: str, live_image_b64: str, liveness_token: str
    ) -> FaceResult:
        answer = self._client.call(
            "POST",
            "/v1/faces/verify",
            {
                "photo_template_id": photo_template_id,
                "live_image": live_image_b64,
                "liveness_token": liveness_token,
            },
        )
        liveness, score = answer.get("liveness"), answer.get("score")
        if (
            not isinstance(liveness, bool)
            or isinstance(score, bool)
            or not isinstance(score, int | float)
            or not 0.0 <= score <= 1.0
        ):
            raise ConnectorUnavailable(f"{SERVICE} gave an answer we do not understand")
        return FaceResult(liveness, float(score))

    def ping(self) -> None:
        self._client.call("GET", "/v1/health")

    def close(self) -> None:
        self._client.close()
