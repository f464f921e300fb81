"""The audit trail as an SM3 chain, on SQLite and PostgreSQL: `idp audit verify` passes on
an honest trail and names the first broken row when someone with database access edits,
deletes, forges or reorders rows behind the triggers' back; concurrent writers never fork
the chain.
"""

from __future__ import annotations

import json
import threading
from typing import Any, cast

import pytest
from flask import Flask
from sqlalchemy import Executable, insert, select, text
from sqlalchemy.exc import IntegrityError

from idp.accounts.models import Person
from idp.audit import AuditEvent, Event, record_event, verify_chain
from idp.audit.chain import row_hash
from idp.db import Database
from tests.helpers import sign_in

SQLITE_TRIGGERS = (
    "audit_events_no_update",
    "audit_events_no_delete",
    "audit_events_chain",
    "audit_chain_head_forward",
    "audit_chain_head_no_delete",
)
EVENTS = (
    Event.login_failed,
    Event.login_succeeded,
    Event.account_registered,
    Event.key_rotated,
    Event.session_ended,
)


def database(app: Flask) -> Database:
    return cast(Database, app.extensions["idp.db"])


def verify(app: Flask, *args: str) -> tuple[int, str]:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["audit", "verify", *args])
    return result.exit_code, result.output


def record(app: Flask, count: int = len(EVENTS)) -> list[AuditEvent]:
    rows = []
    for i in range(count):
        with database(app).transaction() as session:
            rows.append(
                record_event(
                    session,
                    EVENTS[i % len(EVENTS)],
                    person_id=f"p-{i}",
                    channel="web",
                    ip=f"10.0.0.{i}",
                    detail={"n": i, "名": "演示"},
                )
            )
    return rows


def tamper(app: Flask, *statements: str | Executable, **params: Any) -> None:
    """Change the table as an attacker with database access would: triggers out of the way."""
    engine = database(app).engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for trigger in SQLITE_TRIGGERS:
                conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        for statement in statements:
            conn.execute(text(statement) if isinstance(statement, str) else statement, params)


def broken(app: Flask) -> dict[str, Any]:
    code, out = verify(app, "--json")
    answer = json.loads(out)
    assert code == 1 and answer["ok"] is False, out
    return cast(dict[str, Any], answer)


def test_an_honest_trail_verifies(app: Flask) -> None:
    rows = record(app)
    code, out = verify(app, "--json")
    assert code == 0
    assert json.loads(out) == {"ok": True, "checked": len(rows), "first_broken": None}
    code, out = verify(app)
    assert code == 0 and out.startswith(f"audit chain intact: {len(rows)} rows")
    assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
    assert [row.prev_hash for row in rows[1:]] == [row.row_hash for row in rows[:-1]]
    assert [row.id for row in rows] == sorted(row.id for row in rows)  # ids follow the chain


def test_events_of_real_sign_ins_verify(app: Flask, client: Any, person: dict[str, str]) -> None:
    """Rows written inside requests carry the address and user agent, hashed like the rest."""
    sign_in(client, person["username"], "not-the-password")
    sign_in(client, person["username"], person["password"])
    code, out = verify(app, "--json")
    assert code == 0 and json.loads(out)["checked"] == 2
    with database(app).factory() as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [r.event for r in rows] == ["person:login:failed", "person:login:succeeded"]
    assert rows[1].ip and rows[1].user_agent and rows[1].session_id


def test_verify_reads_in_batches(app: Flask) -> None:
    record(app)
    for batch in (1, 2, 5, 6):
        code, out = verify(app, "--json", "--batch", str(batch))
        assert code == 0 and json.loads(out)["checked"] == 5
    tamper(app, "DELETE FROM audit_events WHERE seq = 3")
    with database(app).factory() as session:
        result = verify_chain(session, batch=2)
    assert result.first_broken is not None and result.first_broken.seq == 4


def test_an_edited_detail_is_found(app: Flask) -> None:
    rows = record(app)
    tamper(app, "UPDATE audit_events SET detail = '{\"n\": 99}' WHERE id = :id", id=rows[2].id)
    answer = broken(app)
    assert answer["checked"] == 2
    first = answer["first_broken"]
    assert first["problem"] == "content_altered"
    assert (first["id"], first["seq"], first["event"]) == (rows[2].id, 3, rows[2].event)

    code, out = verify(app)
    assert code == 1
    assert f"BROKEN at row id {rows[2].id} (seq 3, {rows[2].event}," in out
    assert "content altered" in out and "2 rows checked intact before the break" in out


@pytest.mark.parametrize(
    "column",
    ["occurred_at", "event", "person_id", "actor", "ip", "channel", "user_agent", "session_id"],
)
def test_an_edit_to_any_column_is_found(app: Flask, column: str) -> None:
    rows = record(app)
    value = "2020-01-01 00:00:00" if column == "occurred_at" else "a:b:c"
    tamper(
        app, f"UPDATE audit_events SET {column} = :value WHERE id = :id", value=value, id=rows[1].id
    )
    first = broken(app)["first_broken"]
    assert (first["problem"], first["seq"]) == ("content_altered", 2)


def test_a_deleted_row_is_found(app: Flask) -> None:
    rows = record(app)
    tamper(app, "DELETE FROM audit_events WHERE id = :id", id=rows[2].id)
    answer = broken(app)
    first = answer["first_broken"]
    assert (first["problem"], first["id"], first["seq"]) == ("row_missing", rows[3].id, 4)
    assert "seq 3" in first["message"] and answer["checked"] == 2


def test_a_forged_row_in_place_of_a_real_one_breaks_the_next_link(app: Flask) -> None:
    rows = record(app)
    forged = {
        "id": rows[2].id,
        "seq": 3,
        "occurred_at": rows[2].occurred_at,
        "event": "person:login:succeeded",
        "person_id": "p-someone-else",
        "actor": "person:p-someone-else",
        "ip": rows[2].ip,
        "channel": "web",
        "user_agent": None,
        "session_id": None,
        "detail": {},
        "prev_hash": rows[1].row_hash,  # links correctly to the row before
    }
    forged["row_hash"] = row_hash(rows[1].row_hash, forged)  # and hashes correctly itself
    tamper(
        app,
        "DELETE FROM audit_events WHERE id = :id",
        insert(AuditEvent).values(forged),
        id=rows[2].id,
    )
    answer = broken(app)
    first = answer["first_broken"]
    assert (first["problem"], first["id"], first["seq"]) == ("link_broken", rows[3].id, 4)
    assert answer["checked"] == 3  # the forgery itself is self-consistent


def test_two_swapped_rows_are_found(app: Flask) -> None:
    rows = record(app)
    tamper(
        app,
        "UPDATE audit_events SET seq = -1 WHERE seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE seq = -1",
    )
    first = broken(app)["first_broken"]
    assert (first["id"], first["seq"], first["event"]) == (rows[2].id, 2, rows[2].event)
    assert first["problem"] == "content_altered"


def test_a_deleted_last_row_and_a_row_past_the_head_are_found(app: Flask) -> None:
    rows = record(app)
    tamper(app, "DELETE FROM audit_events WHERE id = :id", id=rows[-1].id)
    answer = broken(app)
    first = answer["first_broken"]
    assert (first["problem"], first["seq"], answer["checked"]) == ("head_mismatch", 4, 4)
    assert "rows at the end are missing" in first["message"]


def test_a_row_appended_behind_the_heads_back_is_found(app: Flask) -> None:
    rows = record(app)
    last = rows[-1]
    forged = {c: getattr(last, c) for c in ("occurred_at", "event", "actor", "ip", "detail")}
    forged.update(id=last.id + 1, seq=6, person_id=None, channel=None, user_agent=None)
    forged.update(session_id=None, prev_hash=last.row_hash)
    forged["row_hash"] = row_hash(last.row_hash, forged)
    tamper(app, insert(AuditEvent).values(forged))
    answer = broken(app)
    first = answer["first_broken"]
    assert (first["problem"], first["id"], first["seq"]) == ("head_mismatch", last.id + 1, 6)
    assert answer["checked"] == 5


def test_a_rewritten_head_is_found(app: Flask) -> None:
    record(app)
    tamper(app, "UPDATE audit_chain_head SET last_hash = :h", h="f" * 64)
    first = broken(app)["first_broken"]
    assert (first["problem"], first["seq"]) == ("head_mismatch", 5)


def test_a_rolled_back_transaction_leaves_the_chain_as_it_was(app: Flask) -> None:
    record(app, 2)
    with database(app).factory() as session:
        record_event(session, Event.login_failed)
        record_event(session, Event.account_locked)
        session.rollback()
    (after,) = record(app, 1)
    assert after.seq == 3
    assert verify(app)[0] == 0


def test_record_event_leaves_the_callers_pending_changes_to_its_commit(
    app: Flask, person: dict[str, str]
) -> None:
    """Callers catch an IntegrityError at commit (the same identity verified twice):
    record_event must not flush their changes early and raise it there instead."""
    with database(app).factory() as session:
        session.add(Person(username=person["username"]))  # taken
        record_event(session, Event.account_registered)
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
    code, out = verify(app, "--json")
    assert code == 0 and json.loads(out)["checked"] == 0


def test_tail_shows_the_newest_rows_oldest_first(app: Flask) -> None:
    rows = record(app)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["audit", "tail", "-n", "2", "--json"])
    assert result.exit_code == 0
    events = json.loads(result.output)["events"]
    assert [e["seq"] for e in events] == [4, 5]
    assert events[1]["event"] == rows[4].event and events[1]["detail"] == {"n": 4, "名": "演示"}
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["audit", "tail", "-n", "3"])
    assert [line.split()[0] for line in result.output.splitlines()] == ["3", "4", "5"]


def test_verify_without_the_chain_schema_cannot_check(app: Flask) -> None:
    tamper(app, "DROP TABLE audit_chain_head")
    code, out = verify(app, "--json")
    answer = json.loads(out)
    assert code == 2 and answer["ok"] is False and "idp db upgrade" in answer["error"]


def test_concurrent_writers_never_fork_the_chain(app: Flask) -> None:
    threads, per_thread = 8, 25
    factory = database(app).factory
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def write(worker: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with factory() as session:
                    record_event(session, Event.login_failed, detail={"w": worker, "i": i})
                    if i % 5 == 0:  # two rows in one transaction, like a lockout
                        record_event(session, Event.account_locked, detail={"w": worker})
                    if i % 7 == 3:
                        session.rollback()
                        continue
                    session.commit()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []

    with factory() as session:
        rows = session.execute(
            select(AuditEvent.seq, AuditEvent.id, AuditEvent.prev_hash).order_by(AuditEvent.seq)
        ).all()
        result = verify_chain(session, batch=64)
    committed = [i for i in range(per_thread) if i % 7 != 3]
    expected = threads * (len(committed) + sum(1 for i in committed if i % 5 == 0))
    assert result.ok and result.checked == len(rows) == expected
    assert [seq for seq, _, _ in rows] == list(range(1, expected + 1))
    assert len({prev for _, _, prev in rows}) == expected  # no two rows share a parent
    ids = [row_id for _, row_id, _ in rows]
    assert ids == sorted(ids) and len(set(ids)) == expected
