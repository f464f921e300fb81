"""Alembic: upgrade and downgrade on SQLite and PostgreSQL; models match the migrations."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

import idp.accounts.models
import idp.audit.models
import idp.keys.models
import idp.oidc.models  # noqa: F401
import realname.models
import realname.organizations  # noqa: F401
from idp.db import Base
from migrations import runner

TABLES = {
    "persons",
    "credentials",
    "audit_events",
    "signing_keys",
    "clients",
    "consents",
    "agreement_acceptances",
    "organizations",
    "memberships",
    "agent_authorisations",
}


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


def test_upgrade_downgrade_upgrade(engine):
    runner.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert runner.current(engine) == runner.head()
    runner.downgrade(engine, "base")
    assert not TABLES & set(inspect(engine).get_table_names())
    assert runner.current(engine) is None
    runner.upgrade(engine)
    assert runner.current(engine) == runner.head()


def test_models_match_the_migrated_schema(engine):
    runner.upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_audit_rows_cannot_be_changed_even_with_raw_sql(engine):
    runner.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_events (occurred_at, event, actor, detail) "
                "VALUES (CURRENT_TIMESTAMP, 'person:login:failed', 'anonymous', '{}')"
            )
        )
    for statement in ("UPDATE audit_events SET actor = 'someone-else'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_events")).scalar_one() == "anonymous"
