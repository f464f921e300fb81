"""Reference population registry: a separate HTTP process answering from synthetic data.

python -m connectors.population.reference --port 8101 --key-file K --data registry.json
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from connectors.population.fake import FakePopulationRegistry
from connectors.service import serve, signed_app, text_fields
from connectors.synthetic import Dataset

__all__ = ["create_app"]


def create_app(key: bytes, data: Dataset | None) -> Flask:
    app = signed_app(__name__, key)
    registry = FakePopulationRegistry(data.persons if data else ())

    @app.post("/v1/persons/verify")
    def verify() -> dict[str, Any]:
        name, id_number = text_fields("name", "id_number")
        found = registry.verify(name, id_number)
        return {"result": found.result, "photo_template_id": found.photo_template_id}

    return app


if __name__ == "__main__":
    serve(create_app, "Reference population registry (synthetic data).")
