"""Alembic: upgrade and downgrade on SQLite and PostgreSQL; models match the migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import idp.accounts.models
import idp.audit.models
import idp.keys.models
import idp.oidc.models  # noqa: F401
import realname.models
import realname.organizations  # noqa: F401
from idp.audit import AuditEvent, Event, record_event, verify_chain
from idp.audit.chain import GENESIS_HASH
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
    "audit_chain_head",
    "app_devices",
}


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
    with Session(engine) as session:
        record_event(session, Event.login_failed)
        session.commit()
    for statement in ("UPDATE audit_events SET actor = 'someone-else'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_events")).scalar_one() == "anonymous"


def test_the_chain_head_only_moves_forward_and_rows_must_continue_it(engine):
    runner.upgrade(engine)
    with Session(engine) as session:
        first = record_event(session, Event.login_failed)
        second = record_event(session, Event.login_failed)
        session.commit()
    refused = [
        # a fork: a second row after the first
        (
            "INSERT INTO audit_events (id, seq, occurred_at, event, actor, detail, prev_hash, "
            f"row_hash) VALUES (99, 2, CURRENT_TIMESTAMP, 'a:b:c', 'x', '{{}}', "
            f"'{first.row_hash}', '{'1' * 64}')"
        ),
        # a row that skips ahead, and one that claims to start a new chain
        (
            "INSERT INTO audit_events (id, seq, occurred_at, event, actor, detail, prev_hash, "
            f"row_hash) VALUES (99, 4, CURRENT_TIMESTAMP, 'a:b:c', 'x', '{{}}', "
            f"'{second.row_hash}', '{'1' * 64}')"
        ),
        (
            "INSERT INTO audit_events (id, seq, occurred_at, event, actor, detail, prev_hash, "
            f"row_hash) VALUES (99, 1, CURRENT_TIMESTAMP, 'a:b:c', 'x', '{{}}', "
            f"'{'0' * 64}', '{'1' * 64}')"
        ),
        "UPDATE audit_chain_head SET last_seq = 1",
        f"UPDATE audit_chain_head SET last_hash = '{'1' * 64}'",
        "UPDATE audit_chain_head SET last_seq = 5",
        "DELETE FROM audit_chain_head",
    ]
    for statement in refused:
        with pytest.raises(DBAPIError, match="chain"), engine.begin() as conn:
            conn.execute(text(statement))
    with Session(engine) as session:
        assert verify_chain(session).ok
        assert verify_chain(session).checked == 2


def _insert_legacy_rows(engine, postgres: bool) -> list[dict]:
    """Rows as revision 0005 wrote them: no chain; on PostgreSQL with id gaps where a
    transaction rolled back."""
    rows = [
        {"event": "person:login:failed", "actor": "anonymous", "detail": "{}", "ip": None},
        {
            "event": "person:account:registered",
            "actor": "person:p-1",
            "ip": "10.0.0.7",
            "detail": '{"loa": 2, "name": "\u6f14\u793a", "amr": ["pwd"]}',
        },
        {
            "event": "admin:key:rotated",
            "actor": "admin:cli",
            "ip": None,
            "detail": '{"alg": "ES256", "retired": []}',
        },
    ]
    insert = text(
        "INSERT INTO audit_events (occurred_at, event, actor, ip, detail) "
        "VALUES (:at, :event, :actor, :ip, :detail)"
    )
    for i, row in enumerate(rows):
        at = datetime(2026, 11, 23, 3, 58, i, 181332, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(insert, {**row, "at": at})
        if postgres:
            with engine.connect() as conn:  # takes a sequence value and rolls back
                conn.execute(insert, {**row, "at": at})
                conn.rollback()
    return rows


def test_upgrade_chains_the_rows_already_there_and_downgrade_keeps_them(engine):
    postgres = engine.dialect.name == "postgresql"
    runner.upgrade(engine, "0005")
    legacy = _insert_legacy_rows(engine, postgres)

    runner.upgrade(engine)
    with Session(engine) as session:
        result = verify_chain(session)
        assert result.ok and result.checked == len(legacy) and result.head_seq == len(legacy)
        rows = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        assert [row.seq for row in rows] == [1, 2, 3]
        assert rows[0].prev_hash == GENESIS_HASH
        assert [row.prev_hash for row in rows[1:]] == [row.row_hash for row in rows[:-1]]
        assert rows[1].detail["name"] == "演示"
        if postgres:
            assert [row.id for row in rows] == [1, 3, 5]
        last_id, last_hash = rows[-1].id, rows[-1].row_hash
        added = record_event(session, Event.login_failed)
        session.commit()
    assert added.seq == 4 and added.prev_hash == last_hash and added.id > last_id
    with Session(engine) as session:
        assert verify_chain(session).checked == 4

    runner.downgrade(engine, "0005")
    columns = {c["name"] for c in inspect(engine).get_columns("audit_events")}
    assert not {"seq", "prev_hash", "row_hash"} & columns
    assert "audit_chain_head" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 4
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'someone-else'"))

    runner.upgrade(engine)
    with Session(engine) as session:
        assert verify_chain(session).checked == 4
