"""Outages and bad configuration, as a person and an operator see them.

A stopped Redis or a stopped PostgreSQL must give a clear, translated "try again later"
page (503 + Retry-After), never a traceback, and must lose no account data: once the
server is back, the same person signs in with the same password. Bad configuration is
refused at start-up with a ConfigError that names the setting.

Each test starts its own servers (not the session fixtures): stopping a shared server
would break every other test running at the same time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from config import ConfigError, load_settings
from idp import context
from idp.audit.models import AuditEvent
from idp.db import db
from idp.web.security import SSO_COOKIE
from migrations import runner
from tests.conftest import FAST_HASHING
from tests.helpers import cookie, csrf_token, sign_in
from tests.servers import PostgresServer, RedisServer

PERSON = {"username": "olivia", "phone": "17000000111", "password": "teapot-harbour-2026"}

# What must never reach a person's screen: a traceback, exception or driver names.
LEAKS = (
    "Traceback",
    'File "',
    "Error:",
    "OperationalError",
    "ConnectionError",
    "StoreUnavailable",
    "DatabaseUnavailable",
    "psycopg",
    "sqlalchemy",
    "redis.",
)

ZH_UNAVAILABLE = "服务暂时不可用"
EN_UNAVAILABLE = "Service temporarily unavailable"


def assert_clear_503(
    response: Any, title: str = ZH_UNAVAILABLE, *, port: int | None = None
) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:500]
    assert int(response.headers["Retry-After"]) > 0
    assert title in body
    for leak in LEAKS:
        assert leak not in body, f"{leak!r} shown to the person"
    if port is not None:  # no internal address either
        assert f":{port}" not in body


def create_person(app: Flask) -> str:
    with app.app_context(), db.transaction() as session:
        return context.accounts().create_person(session, **PERSON).id


def build_app(tmp: Path, **settings: Any) -> Flask:
    from app import create_app

    app = create_app({"instance_dir": str(tmp / "instance"), **FAST_HASHING, **settings})
    app.config["TESTING"] = True
    runner.upgrade(app.extensions["idp.db"].engine)
    return app


def audit_trail(app: Flask) -> list[tuple[int, str]]:
    with app.app_context():
        return [(e.id, e.event) for e in db.session.scalars(select(AuditEvent).order_by("id"))]


def person_id_for(app: Flask, identifier: str) -> str | None:
    with app.app_context():
        person = context.accounts().find_by_login(db.session, identifier)
        return person.id if person else None


# -- Redis stopped ------------------------------------------------------------------------
@dataclass
class RedisOutage:
    app: Flask
    redis: RedisServer
    person_id: str
    retired: list[RedisServer]

    def restart(self) -> None:
        """A new, empty Redis on the address the app was configured with."""
        self.retired.append(self.redis)
        server = RedisServer()
        server.port = self.redis.port
        self.redis = server.start()


@pytest.fixture
def redis_outage(short_tmp: Path) -> Iterator[RedisOutage]:
    """SQLite + a Redis of this test's own, with one person in it."""
    redis = RedisServer().start()
    app = build_app(short_tmp, redis_url=redis.url)
    outage = RedisOutage(app, redis, create_person(app), [])
    yield outage
    app.extensions["idp.db"].engine.dispose()
    for server in [*outage.retired, outage.redis]:
        server.cleanup()


def test_stopped_redis_gives_a_clear_page_and_loses_no_account(redis_outage):
    app, redis = redis_outage.app, redis_outage.redis
    signed_in = app.test_client()
    assert sign_in(signed_in, PERSON["username"], PERSON["password"]).status_code == 303
    old_sso = cookie(signed_in, SSO_COOKIE)
    browsers = {name: app.test_client() for name in ("zh", "en-query", "en-header")}
    tokens = {name: csrf_token(client) for name, client in browsers.items()}
    form = {"username": PERSON["username"], "password": PERSON["password"]}

    redis.stop()

    zh = browsers["zh"].post("/login", data={**form, "csrf_token": tokens["zh"]})
    assert_clear_503(zh, port=redis.port)
    en = browsers["en-query"].post(
        "/login?lang=en", data={**form, "csrf_token": tokens["en-query"]}
    )
    assert_clear_503(en, EN_UNAVAILABLE, port=redis.port)
    en = browsers["en-header"].post(
        "/login",
        headers={"Accept-Language": "en-GB,en;q=0.8"},
        data={**form, "csrf_token": tokens["en-header"]},
    )
    assert_clear_503(en, EN_UNAVAILABLE, port=redis.port)
    # a browser that was signed in: its session cannot be looked up
    assert_clear_503(signed_in.get("/login"), port=redis.port)
    assert_clear_503(signed_in.get("/account"), port=redis.port)
    assert signed_in.get("/healthz").status_code == 503
    for client in browsers.values():
        assert cookie(client, SSO_COOKIE) is None

    redis_outage.restart()

    # the person is untouched and signs in with the same password …
    assert person_id_for(app, PERSON["username"]) == redis_outage.person_id
    assert person_id_for(app, PERSON["phone"]) == redis_outage.person_id
    fresh = app.test_client()
    response = sign_in(fresh, PERSON["username"], PERSON["password"])
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert fresh.get("/account").status_code == 200
    assert app.test_client().get("/healthz").status_code == 200
    # … while sessions, which live only in Redis, are gone: a lost Redis logs people out
    stale = app.test_client()
    stale.set_cookie(SSO_COOKIE, old_sso)
    assert stale.get("/account").headers["Location"].startswith("/login")


# -- PostgreSQL stopped ---------------------------------------------------------------------
@dataclass
class DatabaseOutage:
    app: Flask
    pg: PostgresServer
    redis: RedisServer
    person_id: str

    def restart(self) -> None:
        """Start PostgreSQL again on the same data directory and port (no initdb)."""
        self.pg.launch()


@pytest.fixture
def database_outage(short_tmp: Path) -> Iterator[DatabaseOutage]:
    """PostgreSQL and Redis of this test's own, with one person in the database."""
    pg = PostgresServer().start()
    redis = RedisServer().start()
    try:
        app = build_app(short_tmp, redis_url=redis.url, database_url=pg.create_database("outage"))
        outage = DatabaseOutage(app, pg, redis, create_person(app))
        yield outage
        app.extensions["idp.db"].engine.dispose()
    finally:
        pg.cleanup()
        redis.cleanup()


def test_stopped_database_gives_a_clear_page_and_keeps_the_account(database_outage):
    app, pg = database_outage.app, database_outage.pg
    signed_in = app.test_client()
    assert sign_in(signed_in, PERSON["username"], PERSON["password"]).status_code == 303
    zh, en = app.test_client(), app.test_client()
    zh_token, en_token = csrf_token(zh), csrf_token(en, "/login?lang=en")
    form = {"username": PERSON["username"], "password": PERSON["password"]}
    trail = audit_trail(app)
    assert trail[-1][1] == "person:login:succeeded"

    pg.stop()

    assert_clear_503(zh.post("/login", data={**form, "csrf_token": zh_token}), port=pg.port)
    assert_clear_503(
        en.post("/login", data={**form, "csrf_token": en_token}), EN_UNAVAILABLE, port=pg.port
    )
    assert cookie(zh, SSO_COOKIE) is None and cookie(en, SSO_COOKIE) is None
    assert_clear_503(signed_in.get("/account"), port=pg.port)
    health = app.test_client().get("/healthz")
    assert health.status_code == 503 and int(health.headers["Retry-After"]) > 0

    database_outage.restart()

    assert app.test_client().get("/healthz").status_code == 200
    assert person_id_for(app, PERSON["phone"]) == database_outage.person_id
    assert audit_trail(app) == trail  # not a row lost, none half-written
    fresh = app.test_client()
    response = sign_in(fresh, PERSON["username"], PERSON["password"])
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert "170****0111" in fresh.get("/account").get_data(as_text=True)
    # the browser that was signed in before the outage still is (Redis kept its session)
    assert signed_in.get("/account").status_code == 200


def test_password_change_while_the_database_is_down_changes_nothing(database_outage):
    app, pg = database_outage.app, database_outage.pg
    client = app.test_client()
    sign_in(client, PERSON["username"], PERSON["password"])
    token = csrf_token(client, "/account")
    new = "lantern-valley-2027"

    pg.stop()
    response = client.post(
        "/account/password",
        data={
            "current_password": PERSON["password"],
            "new_password": new,
            "confirm_password": new,
            "csrf_token": token,
        },
    )
    assert_clear_503(response, port=pg.port)
    database_outage.restart()

    assert sign_in(app.test_client(), PERSON["username"], new).headers["Location"] == "/login"
    old = sign_in(app.test_client(), PERSON["username"], PERSON["password"])
    assert old.headers["Location"] == "/account"


# -- the sign-in form during an outage ------------------------------------------------------
@pytest.mark.parametrize("part", ["redis", "database"])
def test_sign_in_page_says_unavailable_before_the_person_types(part, request):
    outage = request.getfixturevalue(f"{part}_outage")
    (outage.redis if part == "redis" else outage.pg).stop()
    assert_clear_503(outage.app.test_client().get("/login?next=/account"))


# -- bad configuration ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"IDP_ISSUER": "ftp://x"}, "IDP_ISSUER"),
        ({"IDP_SESSION_IDLE_TIMEOUT": "abc"}, "IDP_SESSION_IDLE_TIMEOUT"),
        ({"IDP_LOGIN_MAX_FAILURES": "101"}, "IDP_LOGIN_MAX_FAILURES"),
        ({"IDP_DATABASE_URL": "mysql://x"}, "IDP_DATABASE_URL"),
        ({"IDP_REDIS_URL": "http://x"}, "IDP_REDIS_URL"),
        ({"IDP_PII_SEAL_KEY": "zz"}, "IDP_PII_SEAL_KEY"),
        ({"IDP_PII_INDEX_KEY": "abcd"}, "IDP_PII_INDEX_KEY"),
        ({"IDP_CONFIG_FILE": "{tmp}/missing.toml"}, "IDP_CONFIG_FILE"),
    ],
)
def test_bad_setting_stops_create_app_with_its_name(tmp_path, monkeypatch, env, named):
    monkeypatch.setenv("IDP_INSTANCE_DIR", str(tmp_path / "instance"))
    for key, value in env.items():
        monkeypatch.setenv(key, value.format(tmp=tmp_path))
    from app import create_app

    with pytest.raises(ConfigError) as raised:
        create_app()
    assert named in str(raised.value)


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("issuer = \n", ["{path}", "not valid TOML"]),
        ("[login]\nmax_failures = 1000\n", ["{path}", "IDP_LOGIN_MAX_FAILURES", "at most 100"]),
        ("[session]\nidle_timeout = 'soon'\n", ["{path}", "session_idle_timeout"]),
        ("issuer = 'http://127.0.0.1:8000'\nbogus_knob = 1\n", ["'bogus_knob'"]),
    ],
)
def test_bad_config_file_names_the_file_and_the_key(tmp_path, toml, named):
    path = tmp_path / "idp.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as raised:
        load_settings(
            {"instance_dir": str(tmp_path / "instance")}, environ={"IDP_CONFIG_FILE": str(path)}
        )
    for part in named:
        assert part.format(path=path) in str(raised.value)


@pytest.mark.parametrize("env", ["IDP_PII_SEAL_KEY", "IDP_PII_INDEX_KEY"])
def test_a_bad_secret_is_named_but_never_echoed(tmp_path, env):
    value = "secret-material-0123456789abcdef-not-hex"
    with pytest.raises(ConfigError) as raised:
        load_settings({"instance_dir": str(tmp_path)}, environ={env: value})
    assert env in str(raised.value) and value not in str(raised.value)
