"""Redis or PostgreSQL stopped while relying parties call the pipeline: each gets OAuth's
JSON (503 `temporarily_unavailable`, Retry-After), never a page or a traceback, and a
refresh token is never spent by a request that failed.

Each test starts a server of its own and stops it (the shared ones serve other tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.oidc.machine.conftest import ask, assert_always, refresh
from tests.servers import PostgresServer, RedisServer

PATHS = ("/token", "/introspect", "/revoke")
LEAKS = ("Traceback", "redis", "psycopg", "sqlalchemy", "Error", "127.0.0.1")


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.data[:300]
    assert response.json == {
        "error": "temporarily_unavailable",
        "error_description": "the service is temporarily unavailable; nothing was changed",
    }
    assert response.headers["Retry-After"] == "30"
    assert_always(response.headers)
    for leak in LEAKS:
        assert leak not in response.get_data(as_text=True)


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.mark.parametrize("backend", ["embedded"])  # the database is SQLite: only Redis stops
class TestRedisStopped:
    @pytest.fixture
    def app(self, make_app, redis):
        return make_app(redis_url=redis.url)

    def test_every_endpoint_answers_503_in_json(self, app, redis, rp, tokens, caplog):
        redis.stop()
        client = app.test_client()
        requests = {
            "/token": refresh(rp, tokens["refresh_token"]),
            "/introspect": ask(rp, tokens["access_token"]),
            "/revoke": ask(rp, tokens["refresh_token"]),
        }
        for path in PATHS:
            assert_unavailable(client.post(path, **requests[path]))
        assert "service unavailable: redis" in caplog.text
        assert "unhandled error" not in caplog.text


@pytest.mark.parametrize("backend", ["servers"])  # Redis is the shared server's: it stays
class TestDatabaseStopped:
    @pytest.fixture
    def pg(self) -> Iterator[PostgresServer]:
        server = PostgresServer().start()
        yield server
        server.cleanup()

    @pytest.fixture
    def app(self, make_app, pg):
        return make_app(database_url=pg.create_database("outage"))

    def test_a_refresh_answers_503_and_spends_nothing(self, app, pg, rp, tokens, caplog):
        pg.stop()
        client = app.test_client()
        assert_unavailable(client.post("/token", **refresh(rp, tokens["refresh_token"])))
        assert "service unavailable: database" in caplog.text
        # Redis still holds the token, unspent: introspection needs no database for a
        # client it has just seen
        still = client.post("/introspect", **ask(rp, tokens["refresh_token"]))
        assert still.status_code == 200 and still.json["active"] is True
