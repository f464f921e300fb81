"""audit chain: SM3 hash chain over audit_events, and its head

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

Every audit row gets `seq` (its place in the chain, 1, 2, 3 … without gaps), `prev_hash`
and `row_hash` = SM3(prev_hash ‖ canonical content), as idp/audit/chain.py describes. The
one-row `audit_chain_head` holds the last seq and hash; appends lock it.

Upgrade chains the rows already there, in id order, starting from the genesis value (64
zeros). The append-only triggers of 0001 refuse UPDATE, so they are lifted for the
backfill (disabled on PostgreSQL; dropped and recreated on SQLite, whose batch table copy
drops them anyway) inside the migration's transaction, and stand again afterwards.

New triggers:
- `audit_events_chain` (BEFORE INSERT): a row must continue the head (seq = last_seq + 1,
  prev_hash = last_hash); it moves the head to the row in the same statement. No fork
  can be inserted, not even with raw SQL.
- `audit_chain_head_forward`: the head moves one row forward at a time or not at all
  (an unchanged UPDATE is how SQLite appends take the lock); it cannot be deleted or, on
  PostgreSQL, truncated.

Downgrade drops the chain columns, the head and the new triggers; rows stay.
"""
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives import hashes

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
BATCH = 2000
# A frozen copy of the version 1 encoding in idp/audit/chain.py: this migration must keep
# computing what it computed when it was written. tests/migrations checks that both agree.
CHAINED_FIELDS = ("seq", "id", "occurred_at", "event", "person_id", "actor", "ip", "channel",
                  "user_agent", "session_id", "detail")

audit_events = sa.table(
    "audit_events",
    sa.column("id", sa.BigInteger()),
    sa.column("seq", sa.BigInteger()),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("event", sa.String()),
    sa.column("person_id", sa.String()),
    sa.column("actor", sa.String()),
    sa.column("ip", sa.String()),
    sa.column("channel", sa.String()),
    sa.column("user_agent", sa.String()),
    sa.column("session_id", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("row_hash", sa.String()),
)


def _row_hash(prev_hash, row):
    moment = row["occurred_at"]
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    values = [row[name] for name in CHAINED_FIELDS]
    values[CHAINED_FIELDS.index("occurred_at")] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    content = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    digest = hashes.Hash(hashes.SM3())
    digest.update(prev_hash.encode("utf-8") + content.encode("ascii"))
    return digest.finalize().hex()


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _append_only(lift=True, postgres=postgres)
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))

    last_seq, last_hash = _backfill(op.get_bind())
    op.execute(
        sa.text("INSERT INTO audit_chain_head (id, last_seq, last_hash) VALUES (1, :seq, :hash)")
        .bindparams(seq=last_seq, hash=last_hash)
    )

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("row_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_seq"), ["seq"])

    _append_only(lift=False, postgres=postgres)
    if postgres:
        _chain_triggers_up_postgres()
    else:
        _chain_triggers_up_sqlite()


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS audit_events_chain ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_chain_append()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_chain")
    _append_only(lift=True, postgres=postgres)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_seq"), type_="unique")
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
    op.drop_table("audit_chain_head")  # its triggers go with it
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS audit_chain_head_forward()")
    _append_only(lift=False, postgres=postgres)


def _backfill(connection):
    """Chain the existing rows in id order, BATCH at a time; return the head."""
    prev_hash, seq, after = GENESIS_HASH, 0, None
    columns = [audit_events.c[name] for name in CHAINED_FIELDS if name != "seq"]
    while True:
        query = sa.select(*columns).order_by(audit_events.c.id).limit(BATCH)
        if after is not None:
            query = query.where(audit_events.c.id > after)
        rows = connection.execute(query).mappings().all()
        if not rows:
            return seq, prev_hash
        updates = []
        for row in rows:
            seq += 1
            row_hash = _row_hash(prev_hash, {**row, "seq": seq})
            updates.append({"key": row["id"], "seq": seq, "prev": prev_hash, "hash": row_hash})
            prev_hash = row_hash
        connection.execute(
            audit_events.update()
            .where(audit_events.c.id == sa.bindparam("key"))
            .values(seq=sa.bindparam("seq"), prev_hash=sa.bindparam("prev"),
                    row_hash=sa.bindparam("hash")),
            updates,
        )
        after = rows[-1]["id"]


def _append_only(*, lift, postgres):
    """Lift (or restore) 0001's refusal of UPDATE and DELETE on audit_events."""
    if postgres:
        action = "DISABLE" if lift else "ENABLE"
        op.execute(f"ALTER TABLE audit_events {action} TRIGGER audit_events_append_only")
    elif lift:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{action.lower()} BEFORE {action} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def _chain_triggers_up_postgres():
    op.execute(
        "CREATE FUNCTION audit_chain_append() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE audit_chain_head SET last_seq = NEW.seq, last_hash = NEW.row_hash "
        "WHERE id = 1 AND last_seq = NEW.seq - 1 AND last_hash = NEW.prev_hash; "
        "IF NOT FOUND THEN "
        "RAISE EXCEPTION 'audit chain: row seq % does not continue the chain head', NEW.seq; "
        "END IF; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_chain_append()"
    )
    op.execute(
        "CREATE FUNCTION audit_chain_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP <> 'UPDATE' THEN RAISE EXCEPTION 'audit_chain_head cannot be removed'; END IF; "
        "IF NEW.id <> OLD.id OR NOT (NEW.last_seq = OLD.last_seq + 1 OR "
        "(NEW.last_seq = OLD.last_seq AND NEW.last_hash = OLD.last_hash)) THEN "
        "RAISE EXCEPTION 'audit_chain_head only moves forward, one row at a time'; END IF; "
        "RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE OR DELETE ON audit_chain_head "
        "FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward()"
    )
    op.execute(
        "CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_forward()"
    )


def _chain_triggers_up_sqlite():
    op.execute(
        "CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events BEGIN "
        "SELECT RAISE(ABORT, 'audit chain: the row does not continue the chain head') "
        "WHERE NOT EXISTS (SELECT 1 FROM audit_chain_head WHERE id = 1 "
        "AND last_seq = NEW.seq - 1 AND last_hash = NEW.prev_hash); "
        "UPDATE audit_chain_head SET last_seq = NEW.seq, last_hash = NEW.row_hash WHERE id = 1; "
        "END"
    )
    op.execute(
        "CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head "
        "WHEN NOT (NEW.id = OLD.id AND (NEW.last_seq = OLD.last_seq + 1 OR "
        "(NEW.last_seq = OLD.last_seq AND NEW.last_hash = OLD.last_hash))) BEGIN "
        "SELECT RAISE(ABORT, 'audit_chain_head only moves forward, one row at a time'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head BEGIN "
        "SELECT RAISE(ABORT, 'audit_chain_head cannot be removed'); END"
    )
