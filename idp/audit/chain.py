"""The SM3 hash chain over audit rows: how a row is encoded and hashed, and how a row is
appended to the chain under the head's lock.

Encoding, version 1 (frozen: every stored hash depends on it; migration 0006 holds a copy):

    row_hash = SM3(prev_hash ‖ content)

- `prev_hash` is the previous row's `row_hash` as 64 lowercase hex characters (ASCII);
  the first row's is `GENESIS_HASH`, 64 zeros.
- `content` is one JSON array, in this order: seq, id, occurred_at, event, person_id,
  actor, ip, channel, user_agent, session_id, detail. `occurred_at` is ISO 8601 in UTC
  with microseconds (`2026-11-23T03:58:03.181332Z`); absent values are `null`; `detail`
  is the JSON object itself. Serialised as Python's `json.dumps(..., sort_keys=True,
  separators=(",", ":"), ensure_ascii=True)`: no whitespace, keys sorted at every level,
  every non-ASCII character escaped as \\uXXXX, so the bytes are ASCII. Strings are
  quoted and escaped, so no value can shift a field boundary.

Appending: the head (`audit_chain_head`, one row) is locked first, on PostgreSQL with
`SELECT … FOR UPDATE`, on SQLite by UPDATE-ing it (a write takes the database's write
lock before anything is read). The lock is held until the caller's transaction ends. The
INSERT's trigger checks that the row continues the head and moves the head to it, in the
same statement; if the caller rolls back, neither the row nor the head changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Executable, Table, func, insert, select, update
from sqlalchemy.orm import Session

from idp.audit.models import AuditChainHead, AuditEvent
from idp.crypto.sm3 import sm3_digest

GENESIS_HASH = "0" * 64
CHAINED_FIELDS = (
    "seq",
    "id",
    "occurred_at",
    "event",
    "person_id",
    "actor",
    "ip",
    "channel",
    "user_agent",
    "session_id",
    "detail",
)

_events = cast(Table, AuditEvent.__table__)
_head = cast(Table, AuditChainHead.__table__)
HEAD_ID = 1


class AuditChainError(Exception):
    """The chain cannot be appended to (no head: the schema predates migration 0006)."""


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def encode_timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("audit timestamps are timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_content(row: Mapping[Any, Any]) -> bytes:
    """The bytes hashed for `row` (a mapping holding at least CHAINED_FIELDS)."""
    values = [row[name] for name in CHAINED_FIELDS]
    values[CHAINED_FIELDS.index("occurred_at")] = encode_timestamp(row["occurred_at"])
    return canonical_json(values).encode("ascii")


def sm3_hex(data: bytes) -> str:
    return sm3_digest(data).hex()


def row_hash(prev_hash: str, row: Mapping[Any, Any]) -> str:
    return sm3_hex(prev_hash.encode("utf-8") + canonical_content(row))


def normalise_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """`detail` as it will read back from the database (tuples become lists, keys
    strings), so that the hash written is the hash verify recomputes."""
    return cast(dict[str, Any], json.loads(json.dumps(dict(detail or {}))))


@dataclass(frozen=True)
class Head:
    last_seq: int
    last_hash: str


def read_head(session: Session) -> Head | None:
    row = session.execute(
        select(_head.c.last_seq, _head.c.last_hash).where(_head.c.id == HEAD_ID)
    ).one_or_none()
    return Head(row.last_seq, row.last_hash) if row is not None else None


def append(session: Session, row: dict[str, Any]) -> dict[str, Any]:
    """Chain `row` (every field of CHAINED_FIELDS but seq and id) onto the head and insert
    it in the session's transaction: two statements, lock-and-read then INSERT. Returns
    the row as written.

    Both run on the session's connection, not through `session.execute`, which would
    autoflush: the caller's pending changes stay pending, and an IntegrityError of theirs
    still surfaces at their commit, where they expect it."""
    connection = session.connection()
    head, next_id = _lock_head(connection)
    chained = {**row, "seq": head.last_seq + 1, "id": next_id, "prev_hash": head.last_hash}
    chained["row_hash"] = row_hash(head.last_hash, chained)
    connection.execute(_INSERT_EVENT, chained)  # built once; only the values vary
    return chained


def _lock_head(connection: Connection) -> tuple[Head, int]:
    """Lock the head until the transaction ends; read it and the id for the new row."""
    postgresql = connection.dialect.name == "postgresql"
    statement = _LOCK_HEAD_POSTGRESQL if postgresql else _LOCK_HEAD_SQLITE
    locked = connection.execute(statement).one_or_none()
    if locked is None:
        raise AuditChainError("audit_chain_head is missing: run `idp db upgrade`")
    last_seq, last_hash, next_id = locked
    return Head(int(last_seq), str(last_hash)), int(next_id)


def _lock_head_postgresql() -> Executable:
    # The id comes from the column's own sequence in the same round trip, drawn outside
    # the CTE, so only once the lock is held: ids rise in chain order.
    head = (
        select(_head.c.last_seq, _head.c.last_hash)
        .where(_head.c.id == HEAD_ID)
        .with_for_update()
        .cte("head")
    )
    next_id = func.nextval(func.pg_get_serial_sequence(_events.name, "id"))
    return select(head.c.last_seq, head.c.last_hash, next_id)


def _lock_head_sqlite() -> Executable:
    # An UPDATE that changes nothing takes SQLite's write lock before the head is read;
    # under that lock max(id) + 1 is the id SQLite itself would assign.
    next_id = select(func.coalesce(func.max(_events.c.id), 0) + 1).scalar_subquery()
    return (
        update(_head)
        .where(_head.c.id == HEAD_ID)
        .values(last_seq=_head.c.last_seq)
        .returning(_head.c.last_seq, _head.c.last_hash, next_id)
    )


_INSERT_EVENT = insert(_events)
_LOCK_HEAD_POSTGRESQL = _lock_head_postgresql()
_LOCK_HEAD_SQLITE = _lock_head_sqlite()
