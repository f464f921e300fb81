"""Reference face verification: a separate HTTP process applying the synthetic face rule
to the registry photos of the synthetic persons.

    python -m connectors.face.reference --port 8104 --key-file K --data registry.json
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from connectors.face.fake import FakeFaceVerifier
from connectors.service import serve, signed_app, text_fields
from connectors.synthetic import Dataset

__all__ = ["create_app"]


def create_app(key: bytes, data: Dataset | None) -> Flask:
    app = signed_app(__name__, key)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    verifier = FakeFaceVerifier(p.photo_template_id for p in (data.persons if data else ()))

    @app.post("/v1/faces/verify")
    def verify() -> dict[str, Any]:
        template, image, token = text_fields("photo_template_id", "live_image", "liveness_token")
        result = verifier.verify(template, image, token)
        return {"liveness": result.liveness, "score": result.score}

    return app


if __name__ == "__main__":
    serve(create_app, "Reference face verification (synthetic rule).")
