"""In-memory face verification applying the synthetic rule of `connectors.synthetic`
(matching frames score 0.90-0.99, others below 0.40; liveness tokens are bound to the
frame); the reference service serves this same object."""

from __future__ import annotations

from collections.abc import Iterable

from connectors import synthetic
from connectors.errors import ConnectorRejected, ConnectorUnavailable
from connectors.face import FaceResult

__all__ = ["FakeFaceVerifier"]

MAX_IMAGE_B64 = 512 * 1024


class FakeFaceVerifier:
    """Set `available = False` to make every call raise ConnectorUnavailable."""

    def __init__(self, photo_template_ids: Iterable[str]) -> None:
        self._templates = frozenset(photo_template_ids)
        self.available = True

    def verify(
        self, photo_template_id: str, live_image_b64: str, liveness_token: str
    ) -> FaceResult:
        self._check_available()
        if photo_template_id not in self._templates:
            raise ConnectorRejected("unknown_photo_template", "no registry photo with this id")
        if not live_image_b64 or len(live_image_b64) > MAX_IMAGE_B64:
            raise ConnectorRejected("malformed_request", "live image missing or too large")
        try:
            image = synthetic.decode_image(live_image_b64)
        except ValueError:
            raise ConnectorRejected("malformed_request", "live image is not base64") from None
        return FaceResult(
            liveness=synthetic.is_live(image, liveness_token),
            score=synthetic.face_score(photo_template_id, image),
        )

    def ping(self) -> None:
        self._check_available()

    def _check_available(self) -> None:
        if not self.available:
            raise ConnectorUnavailable("face verification is down (fake)")
