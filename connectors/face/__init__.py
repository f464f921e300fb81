"""Face verification (人脸核验): is the person in front of the camera live, and how well
does the frame match the registry photo the population registry named? Domain code
depends on this interface only; the pass mark is the domain's decision, not the service's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["FaceResult", "FaceVerifier"]


@dataclass(frozen=True)
class FaceResult:
    liveness: bool  # the liveness token is valid for this very frame
    score: float  # similarity to the registry photo, 0.0-1.0


class FaceVerifier(Protocol):
    def verify(
        self, photo_template_id: str, live_image_b64: str, liveness_token: str
    ) -> FaceResult:
        """Compare a camera frame (base64) with a registry photo. Raises
        ConnectorRejected for an unknown photo template or an image that is not base64;
        ConnectorUnavailable when no usable answer came."""
        ...

    def ping(self) -> None:
        """Return when the service is reachable and accepts our key; raise
        ConnectorUnavailable otherwise."""
        ...
