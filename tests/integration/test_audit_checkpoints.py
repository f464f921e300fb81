"""Signed checkpoints anchor the audit chain outside the database, on SQLite and PostgreSQL.

The attacker here can write the database: they lift the triggers, turn an
`admin:person:created` row's {"loa": 2} into {"loa": 5}, recompute every later hash and the
head with the chain's own code and put the triggers back. The chain alone then verifies;
`idp audit verify` must not, and must name the first row after the last good checkpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from flask import Flask
from sqlalchemy import Connection, Table, select, text, update

from idp.audit import AuditEvent, Checkpointer, Event, record_event, verify_chain
from idp.audit.chain import row_hash
from idp.audit.checkpoint import Checkpoint, CheckpointSigner, public_key_hex
from idp.audit.models import AuditChainHead
from idp.crypto.sm2 import PrivateKey
from idp.db import Database, utcnow

IDP = Path(sys.executable).parent / "idp"
REPO = Path(__file__).resolve().parents[2]
_events = cast(Table, AuditEvent.__table__)
_head = cast(Table, AuditChainHead.__table__)


def database(app: Flask) -> Database:
    return cast(Database, app.extensions["idp.db"])


def checkpointer(app: Flask) -> Checkpointer:
    return cast(Checkpointer, app.extensions["idp.audit.checkpointer"])


def cli(app: Flask, *args: str) -> tuple[int, str]:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["audit", *args])
    return result.exit_code, result.output


def record(app: Flask, event: Event = Event.login_succeeded, **detail: Any) -> AuditEvent:
    with database(app).transaction() as session:
        return record_event(session, event, actor="admin:synthetic", detail=detail)


def checkpoint(app: Flask) -> dict[str, Any]:
    code, out = cli(app, "checkpoint", "--json")
    assert code == 0, out
    return cast(dict[str, Any], json.loads(out)["checkpoint"])


def trail_with_two_checkpoints(app: Flask) -> dict[str, AuditEvent]:
    """Seq 1-3, checkpoint at 3; the person created at seq 4 (loa 2), 5-6, checkpoint at 6;
    7-8 not yet checkpointed."""
    for n in range(3):
        record(app, n=n)
    assert checkpoint(app)["seq"] == 3
    created = record(app, Event.person_created, loa=2)
    record(app, n=5)
    record(app, n=6)
    assert checkpoint(app)["seq"] == 6
    record(app, n=7)
    last = record(app, n=8)
    return {"created": created, "last": last}


def rewrite_detail(app: Flask, seq: int, detail: dict[str, Any]) -> None:
    """What a competent attacker with write access to the database does: the triggers out
    of the way, the row edited, every later hash and the head recomputed exactly as the
    chain computes them, the triggers back in place."""
    engine = database(app).engine
    with engine.begin() as conn:
        restore = _lift_triggers(conn)
        rows = conn.execute(select(_events).where(_events.c.seq >= seq).order_by(_events.c.seq))
        prev_hash = None
        for row in rows.mappings().all():
            changed = dict(row, detail=detail) if row["seq"] == seq else dict(row)
            changed["prev_hash"] = prev_hash or row["prev_hash"]
            changed["row_hash"] = prev_hash = row_hash(changed["prev_hash"], changed)
            conn.execute(
                update(_events)
                .where(_events.c.id == row["id"])
                .values(
                    detail=changed["detail"], prev_hash=changed["prev_hash"], row_hash=prev_hash
                )
            )
        conn.execute(update(_head).values(last_hash=prev_hash))
        restore()


def _lift_triggers(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        for table in ("audit_events", "audit_chain_head"):
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        return lambda: [
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
            for table in ("audit_events", "audit_chain_head")
        ]
    triggers = conn.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name IN ('audit_events', 'audit_chain_head')"
        )
    ).all()
    assert len(triggers) >= 5
    for name, _ in triggers:
        conn.execute(text(f"DROP TRIGGER {name}"))
    return lambda: [conn.execute(text(sql)) for _, sql in triggers]


def test_a_rewritten_and_rehashed_row_is_caught_by_the_checkpoint_after_it(app: Flask) -> None:
    rows = trail_with_two_checkpoints(app)
    assert cli(app, "verify")[0] == 0

    rewrite_detail(app, 4, {"loa": 5})

    with database(app).factory() as session:
        edited = session.scalars(select(AuditEvent).where(AuditEvent.seq == 4)).one()
        assert edited.detail == {"loa": 5}
        # The attack is competent: the chain on its own (all the old verify had) holds.
        assert verify_chain(session).ok
    created = rows["created"]
    code, out = cli(app, "verify")
    assert code == 1, out
    assert f"BROKEN at row id {created.id} (seq 4, admin:person:created," in out
    assert "the chain was rewritten after checkpoint 3" in out
    assert "first row not covered by a good checkpoint: seq 4" in out
    assert "3 rows checked intact before the break" in out

    code, out = cli(app, "verify", "--json")
    answer = json.loads(out)
    assert code == 1 and answer["ok"] is False and answer["checked"] == 3
    first = answer["first_broken"]
    assert (first["problem"], first["id"], first["seq"]) == ("checkpoint_mismatch", created.id, 4)
    assert "checkpoint at seq 6 signed head" in first["message"]
    assert answer["checkpoints"] == {"good": 2, "last_good_seq": 3, "bad": []}

    # Nor can the attacker get the rewrite signed: the next checkpoint refuses it.
    code, out = cli(app, "checkpoint")
    assert code == 1 and "does not continue from checkpoint at seq 6" in out
    assert len(checkpointer(app).store.path.read_text().splitlines()) == 2


def test_the_idp_command_itself_catches_the_rewrite(app: Flask) -> None:
    """The operator's own process, against the same database and instance directory."""
    rows = trail_with_two_checkpoints(app)
    rewrite_detail(app, 4, {"loa": 5})
    settings = app.extensions["idp.settings"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
    env.update(
        IDP_INSTANCE_DIR=settings.instance_dir,
        IDP_DATABASE_URL=database(app).engine.url.render_as_string(hide_password=False),
        IDP_REDIS_URL=settings.redis_url,
    )
    done = subprocess.run(
        [str(IDP), "audit", "verify"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"row id {rows['created'].id} (seq 4, admin:person:created," in done.stdout
    assert "first row not covered by a good checkpoint: seq 4" in done.stdout


def test_an_honest_trail_with_checkpoints_verifies(app: Flask) -> None:
    trail_with_two_checkpoints(app)
    code, out = cli(app, "verify")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("audit chain intact: 8 rows, head at seq 8")
    assert lines[1] == (
        "  2 signed checkpoints match, the last at seq 6; rows after seq 6 are not yet checkpointed"
    )
    code, out = cli(app, "verify", "--json")
    assert code == 0
    assert json.loads(out) == {
        "ok": True,
        "checked": 8,
        "first_broken": None,
        "checkpoints": {"good": 2, "last_good_seq": 6, "bad": []},
    }


def test_rows_after_the_last_checkpoint_are_still_chained(app: Flask) -> None:
    """A checkpoint anchors what it covers; rows after it are still held by the chain."""
    trail_with_two_checkpoints(app)
    engine = database(app).engine
    with engine.begin() as conn:
        restore = _lift_triggers(conn)
        conn.execute(update(_events).where(_events.c.seq == 8).values(detail={"n": 80}))
        restore()
    code, out = cli(app, "verify", "--json")
    first = json.loads(out)["first_broken"]
    assert code == 1 and (first["problem"], first["seq"]) == ("content_altered", 8)


def test_a_tampered_checkpoint_line_is_reported(app: Flask) -> None:
    trail_with_two_checkpoints(app)
    path = checkpointer(app).store.path
    first, second = path.read_text().splitlines()
    forged = json.loads(first)
    forged["seq"] = 4  # claims to cover one row more
    path.write_text(json.dumps(forged) + "\n" + second + "\n" + "not a checkpoint\n")
    code, out = cli(app, "verify")
    assert code == 1
    assert "audit checkpoint BAD at checkpoints.jsonl:1: its signature does not verify" in out
    assert "audit checkpoint BAD at checkpoints.jsonl:3: unreadable (not JSON)" in out
    assert out.startswith("audit chain intact: 8 rows")  # the chain itself is whole
    code, out = cli(app, "verify", "--json")
    answer = json.loads(out)
    assert code == 1 and answer["ok"] is False and answer["first_broken"] is None
    assert [bad["where"] for bad in answer["checkpoints"]["bad"]] == [
        "checkpoints.jsonl:1",
        "checkpoints.jsonl:3",
    ]


def test_a_checkpoint_signed_by_another_key_is_rejected(app: Flask) -> None:
    """An attacker who signs the rewritten head with a key of their own gains nothing."""
    trail_with_two_checkpoints(app)
    rewrite_detail(app, 4, {"loa": 5})
    store = checkpointer(app).store
    with database(app).factory() as session:
        head = session.execute(select(_head.c.last_seq, _head.c.last_hash)).one()
    theirs = CheckpointSigner(PrivateKey.generate())
    store.append(theirs.sign(head.last_seq, head.last_hash, utcnow()))
    ours = checkpointer(app).signer.key_id
    impostor = theirs.sign(head.last_seq, head.last_hash, utcnow())
    store.append(Checkpoint(impostor.seq, impostor.head, impostor.at, ours, impostor.sig))

    code, out = cli(app, "verify")
    assert code == 1
    assert f"checkpoints.jsonl:3: signed by an unknown key {theirs.key_id}" in out
    assert "checkpoints.jsonl:4: its signature does not verify" in out
    assert "first row not covered by a good checkpoint: seq 4" in out


def test_rows_removed_from_the_end_are_found_by_a_checkpoint_past_the_head(app: Flask) -> None:
    trail_with_two_checkpoints(app)
    engine = database(app).engine
    with engine.begin() as conn:
        restore = _lift_triggers(conn)
        five = conn.execute(select(_events.c.row_hash).where(_events.c.seq == 5)).scalar_one()
        conn.execute(_events.delete().where(_events.c.seq > 5))
        conn.execute(update(_head).values(last_seq=5, last_hash=five))
        restore()
    with database(app).factory() as session:
        assert verify_chain(session).ok  # the shortened chain is self-consistent
    code, out = cli(app, "verify", "--json")
    answer = json.loads(out)
    first = answer["first_broken"]
    assert code == 1 and first["problem"] == "checkpoint_mismatch"
    assert "a checkpoint covers seq 6 but the chain ends at seq 5" in first["message"]
    assert "first row not covered by a good checkpoint: seq 4" in first["message"]
    assert first["seq"] == 4 and answer["checked"] == 3


def test_checkpoints_are_written_periodically_after_commits(
    make_app: Any, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    app = make_app(audit_checkpoint_every=3)
    for n in range(7):
        record(app, n=n)
        checkpointer(app).wait(30)
    with database(app).factory() as session:  # rolled back: neither counted nor covered
        record_event(session, Event.login_failed)
        record_event(session, Event.login_failed)
        session.rollback()
    checkpointer(app).wait(30)
    store = checkpointer(app).store
    written = [json.loads(line) for line in store.path.read_text().splitlines()]
    assert [c["seq"] for c in written] == [3, 6]

    # The log stream carries the same lines: a copy of the log is a checkpoint source too.
    logged = [r.getMessage() for r in caplog.records if r.name == "idp.audit.checkpoint"]
    assert [json.loads(m.removeprefix("audit checkpoint ")) for m in logged] == written
    log_copy = tmp_path / "idp.log"
    log_copy.write_text("".join(f"2026-11-25 INFO idp.audit.checkpoint: {m}\n" for m in logged))
    store.path.unlink()  # the file is gone; the log copy alone still anchors the chain
    rewrite_detail(app, 2, {"n": 100})
    code, out = cli(app, "verify", "--checkpoints", str(log_copy))
    assert code == 1 and "before its first good checkpoint" in out
    assert "first row not covered by a good checkpoint: seq 1" in out


def test_a_verifier_needs_only_the_public_key(make_app: Any) -> None:
    app = make_app()
    trail_with_two_checkpoints(app)
    public = public_key_hex(checkpointer(app).signer.public)
    # Another machine: a signing key of its own (generated, or none configured), the
    # provider's public key configured, the checkpoint files copied over.
    other_key = f"{PrivateKey.generate().d:064x}"
    verifier = make_app(audit_checkpoint_key=other_key, audit_checkpoint_public_key=public)
    code, out = cli(verifier, "verify")
    assert code == 0 and "2 signed checkpoints match" in out, out
    stranger = public_key_hex(PrivateKey.generate().public_key())
    verifier = make_app(audit_checkpoint_key=other_key, audit_checkpoint_public_key=stranger)
    code, out = cli(verifier, "verify")
    assert code == 1 and "signed by an unknown key" in out


def test_checkpoint_key_shows_what_a_verifier_configures(app: Flask) -> None:
    code, out = cli(app, "checkpoint-key", "--json")
    answer = json.loads(out)
    signer = checkpointer(app).signer
    assert code == 0 and answer["key_id"] == signer.key_id
    assert answer["public_key"] == public_key_hex(signer.public)
    code, out = cli(app, "checkpoint-key")
    assert out.splitlines() == [f"key id {signer.key_id}", f"public key {answer['public_key']}"]


def test_an_empty_chain_has_nothing_to_checkpoint_and_says_it_is_not_anchored(
    app: Flask,
) -> None:
    code, out = cli(app, "checkpoint")
    assert code == 0 and out.strip() == "audit chain empty: nothing to checkpoint"
    code, out = cli(app, "verify")
    assert code == 0 and "no signed checkpoints in" in out
    record(app)
    code, out = cli(app, "checkpoint")
    assert code == 0 and out.startswith("audit checkpoint written: seq 1, head ")


def test_a_checkpoint_that_cannot_be_written_is_one_line_and_exit_code_2(
    make_app: Any, tmp_path: Path
) -> None:
    occupied = tmp_path / "a-file-not-a-directory"
    occupied.write_text("")
    app = make_app(audit_checkpoint_dir=str(occupied))
    record(app)
    code, out = cli(app, "checkpoint")
    assert code == 2 and out.startswith("idp: cannot write the checkpoint: ")
    assert len(out.strip().splitlines()) == 1
