"""Prove the audit trail whole: walk every row in chain order, recompute its hash, check
that it links to the row before and that the head points at the last row.

Memory stays bounded: rows are read `batch` at a time by seq (keyset pagination), as plain
tuples, never as ORM objects. Writers may append while verify runs: it checks the chain up
to the head it read first; rows appended later are left for the next run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Row, Table, select
from sqlalchemy.orm import Session

from idp.audit.chain import CHAINED_FIELDS, GENESIS_HASH, Head, read_head, row_hash
from idp.audit.models import AuditEvent

DEFAULT_BATCH = 5000
_events = cast(Table, AuditEvent.__table__)
_COLUMNS = [_events.c[name] for name in (*CHAINED_FIELDS, "prev_hash", "row_hash")]


class Problem(StrEnum):
    content_altered = "content_altered"  # the row's content no longer matches its hash
    link_broken = "link_broken"  # its prev_hash is not the previous row's hash
    row_missing = "row_missing"  # a gap in seq: rows before this one were removed
    head_mismatch = "head_mismatch"  # the head does not point at the last row


@dataclass(frozen=True)
class BrokenRow:
    problem: Problem
    message: str
    # The row where the chain breaks; all None when there is no such row (an empty table
    # whose head says otherwise).
    id: int | None = None
    seq: int | None = None
    event: str | None = None
    occurred_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["problem"] = self.problem.value
        data["occurred_at"] = self.occurred_at.isoformat() if self.occurred_at else None
        return data


@dataclass(frozen=True)
class VerifyResult:
    checked: int  # rows found intact (all of them when ok; those before the break if not)
    head_seq: int | None
    head_hash: str | None
    first_broken: BrokenRow | None

    @property
    def ok(self) -> bool:
        return self.first_broken is None


def verify_chain(session: Session, *, batch: int = DEFAULT_BATCH) -> VerifyResult:
    """Check the whole chain; stop at the first broken row and say what is wrong there."""
    head = read_head(session)
    if head is None:
        missing = BrokenRow(Problem.head_mismatch, "the chain head row is missing")
        return VerifyResult(0, None, None, missing)
    checked, last, broken = _walk(session, head, batch)
    if broken is None:
        broken = _check_head(session, head, last)
    return VerifyResult(checked, head.last_seq, head.last_hash, broken)


def _walk(
    session: Session, head: Head, batch: int
) -> tuple[int, Row[Any] | None, BrokenRow | None]:
    """Every row up to the head's seq, in order; the intact count, the last row, a break."""
    checked, last = 0, None
    prev_hash, after = GENESIS_HASH, None
    while True:
        # No lower bound at first, so that a row slipped in below seq 1 is seen too.
        page = select(*_COLUMNS).where(_events.c.seq <= head.last_seq)
        if after is not None:
            page = page.where(_events.c.seq > after)
        rows = session.execute(page.order_by(_events.c.seq).limit(batch)).all()
        for row in rows:
            broken = _check_row(row, checked + 1, prev_hash)
            if broken is not None:
                return checked, last, broken
            checked, last, prev_hash = checked + 1, row, row.row_hash
        if len(rows) < batch:
            return checked, last, None
        after = rows[-1].seq


def _check_row(row: Row[Any], expected_seq: int, prev_hash: str) -> BrokenRow | None:
    if row.seq < expected_seq:
        message = f"its seq precedes the chain's first row (seq {expected_seq})"
        return _broken(row, Problem.link_broken, message)
    if row.seq != expected_seq:
        gap = f"{expected_seq}" if row.seq == expected_seq + 1 else f"{expected_seq}-{row.seq - 1}"
        return _broken(row, Problem.row_missing, f"row(s) with seq {gap} are missing before it")
    if row_hash(row.prev_hash, row._mapping) != row.row_hash:
        return _broken(row, Problem.content_altered, "its content does not match its hash")
    if row.prev_hash != prev_hash:
        which = "the genesis value" if expected_seq == 1 else "the previous row's hash"
        return _broken(row, Problem.link_broken, f"its prev_hash is not {which}")
    return None


def _check_head(session: Session, head: Head, last: Row[Any] | None) -> BrokenRow | None:
    last_seq = last.seq if last is not None else 0
    if last_seq < head.last_seq:
        message = (
            f"the head is at seq {head.last_seq} but the last row is seq {last_seq}: "
            "rows at the end are missing"
        )
        return _broken(last, Problem.head_mismatch, message)
    last_hash = last.row_hash if last is not None else GENESIS_HASH
    if last_hash != head.last_hash:
        return _broken(last, Problem.head_mismatch, "the head's hash is not the last row's")
    # Rows past the head cannot be inserted while the chain trigger stands. Appends may
    # commit meanwhile: read the head again after looking, and every append seen in the
    # first read has moved it at least that far.
    beyond = session.execute(
        select(*_COLUMNS)
        .where(_events.c.seq > head.last_seq)
        .order_by(_events.c.seq.desc())
        .limit(1)
    ).first()
    now = read_head(session)
    if beyond is None or (now is not None and beyond.seq <= now.last_seq):
        return None
    first = session.execute(
        select(*_COLUMNS)
        .where(_events.c.seq > (now.last_seq if now else head.last_seq))
        .order_by(_events.c.seq)
        .limit(1)
    ).first()
    return _broken(first or beyond, Problem.head_mismatch, "the row lies past the chain head")


def _broken(row: Row[Any] | None, problem: Problem, message: str) -> BrokenRow:
    if row is None:
        return BrokenRow(problem, message)
    occurred_at = row.occurred_at.astimezone(UTC) if row.occurred_at is not None else None
    return BrokenRow(problem, message, row.id, row.seq, row.event, occurred_at)
