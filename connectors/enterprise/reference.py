"""Reference enterprise registry: a separate HTTP process answering from synthetic data.

python -m connectors.enterprise.reference --port 8102 --key-file K --data registry.json
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Flask

from connectors.enterprise.fake import FakeEnterpriseRegistry
from connectors.service import serve, signed_app, text_fields
from connectors.synthetic import Dataset

__all__ = ["create_app"]


def create_app(key: bytes, data: Dataset | None) -> Flask:
    app = signed_app(__name__, key)
    registry = FakeEnterpriseRegistry(data.enterprises if data else ())

    @app.post("/v1/enterprises/lookup")
    def lookup() -> dict[str, Any]:
        (uscc,) = text_fields("uscc")
        record = registry.lookup(uscc)
        return {"record": asdict(record) if record else None}

    return app


if __name__ == "__main__":
    serve(create_app, "Reference enterprise registry (synthetic data).")
