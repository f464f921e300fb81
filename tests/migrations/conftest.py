"""Every migration test runs on both databases a deployment may use."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database(
            f"m_{uuid.uuid4().hex[:10]}"
        )
    eng = create_engine(url)
    yield eng
    eng.dispose()
