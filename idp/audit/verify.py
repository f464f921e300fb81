"""Prove the audit trail whole: walk every row in chain order, recompute its hash, check
that it links to the row before, that the head points at the last row, and that every
row a signed checkpoint covers still has the head hash the checkpoint recorded.

Without checkpoints, whoever can write the database can rewrite a row and recompute every
later hash and the head: the chain alone then still verifies. A checkpoint is signed by a
key the database does not hold (idp/audit/checkpoint.py), so such a rewrite shows at the
first checkpoint after the rewritten row.

Memory stays bounded: rows are read `batch` at a time by seq (keyset pagination), as plain
tuples, never as ORM objects. Writers may append while verify runs: it checks the chain up
to the head it read first; rows appended later are left for the next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Row, Table, select
from sqlalchemy.orm import Session

from idp.audit.chain import CHAINED_FIELDS, GENESIS_HASH, Head, read_head, row_hash
from idp.audit.checkpoint import Checkpoint
from idp.audit.models import AuditEvent

DEFAULT_BATCH = 5000
_events = cast(Table, AuditEvent.__table__)
_COLUMNS = [_events.c[name] for name in (*CHAINED_FIELDS, "prev_hash", "row_hash")]


class Problem(StrEnum):
    content_altered = "content_altered"  # the row's content no longer matches its hash
    link_broken = "link_broken"  # its prev_hash is not the previous row's hash
    row_missing = "row_missing"  # a gap in seq: rows before this one were removed
    head_mismatch = "head_mismatch"  # the head does not point at the last row
    # a row's hash is not what a signed checkpoint recorded: rewritten and rehashed
    checkpoint_mismatch = "checkpoint_mismatch"


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
    # seq of the last checkpoint the chain was found to match, if any
    last_good_checkpoint: int | None = None

    @property
    def ok(self) -> bool:
        return self.first_broken is None


def verify_chain(
    session: Session, *, batch: int = DEFAULT_BATCH, checkpoints: Iterable[Checkpoint] = ()
) -> VerifyResult:
    """Check the whole chain, against `checkpoints` too (their signatures already checked);
    stop at the first broken row and say what is wrong there."""
    head = read_head(session)
    if head is None:
        missing = BrokenRow(Problem.head_mismatch, "the chain head row is missing")
        return VerifyResult(0, None, None, missing)
    anchors = _Anchors(checkpoints)
    return _verify(session, head, batch, anchors, (0, GENESIS_HASH))


def verify_since(
    session: Session, checkpoint: Checkpoint | None, *, batch: int = DEFAULT_BATCH
) -> VerifyResult:
    """Check only the rows from `checkpoint` to the head: that the row it covers still has
    its head hash and that every row after it continues from there. What a checkpoint
    writer proves before it signs a new head, at a cost of the rows since the last one."""
    if checkpoint is None or checkpoint.seq == 0:
        return verify_chain(session, batch=batch, checkpoints=[checkpoint] if checkpoint else [])
    head = read_head(session)
    if head is None:
        missing = BrokenRow(Problem.head_mismatch, "the chain head row is missing")
        return VerifyResult(0, None, None, missing)
    first = session.execute(select(*_COLUMNS).where(_events.c.seq == checkpoint.seq)).first()
    if first is None or head.last_seq < checkpoint.seq:
        message = f"the row at seq {checkpoint.seq}, which a checkpoint covers, is gone"
        gone = BrokenRow(Problem.checkpoint_mismatch, message)
        return VerifyResult(0, head.last_seq, head.last_hash, gone)
    # The covered row's own prev_hash is taken as given: the checkpoint vouches for it.
    start = (checkpoint.seq - 1, str(first.prev_hash))
    return _verify(session, head, batch, _Anchors([checkpoint]), start)


def _verify(
    session: Session, head: Head, batch: int, anchors: _Anchors, start: tuple[int, str]
) -> VerifyResult:
    checked, last, broken = _walk(session, head, batch, anchors, start)
    if broken is None:
        broken = _check_head(session, head, last)
    if broken is None:
        broken = anchors.beyond(head.last_seq)
    if broken is not None and broken.problem is Problem.checkpoint_mismatch and start[0] == 0:
        # Every row after the last good checkpoint may have been rewritten: name the first.
        checked = anchors.last_good or 0
        broken = _rewritten(session, broken.message, anchors.last_good, checked + 1)
    return VerifyResult(checked, head.last_seq, head.last_hash, broken, anchors.last_good)


class _Anchors:
    """The head hash each checkpointed seq must have, and the last one found to match."""

    def __init__(self, checkpoints: Iterable[Checkpoint]) -> None:
        self.heads: dict[int, set[str]] = {}
        for checkpoint in checkpoints:
            self.heads.setdefault(checkpoint.seq, set()).add(checkpoint.head)
        self.last_good: int | None = None
        genesis = self.heads.get(0)
        self.genesis_problem = (
            None if genesis is None or genesis == {GENESIS_HASH} else _mismatch(0, genesis, "")
        )

    def check(self, seq: int, hash_: str) -> str | None:
        expected = self.heads.get(seq)
        if expected is None:
            return None
        if expected == {hash_}:
            self.last_good = seq
            return None
        return _mismatch(seq, expected, hash_)

    def beyond(self, head_seq: int) -> BrokenRow | None:
        later = [seq for seq in self.heads if seq > head_seq]
        if not later:
            return None
        message = (
            f"a checkpoint covers seq {min(later)} but the chain ends at seq {head_seq}: "
            "rows at the end were removed and the head moved back"
        )
        return BrokenRow(Problem.checkpoint_mismatch, message)


def _mismatch(seq: int, expected: set[str], found: str) -> str:
    signed = " and ".join(f"{h[:16]}…" for h in sorted(expected))
    there = f"the row there hashes to {found[:16]}…" if found else "that is not the genesis"
    return f"the checkpoint at seq {seq} signed head {signed} but {there}"


def _rewritten(
    session: Session, detail: str, last_good: int | None, first_uncovered: int
) -> BrokenRow:
    after = f"after checkpoint {last_good}" if last_good else "before its first good checkpoint"
    message = (
        f"the chain was rewritten {after}: {detail}; "
        f"first row not covered by a good checkpoint: seq {first_uncovered}"
    )
    row = session.execute(select(*_COLUMNS).where(_events.c.seq == first_uncovered)).first()
    return _broken(row, Problem.checkpoint_mismatch, message)


def _walk(
    session: Session, head: Head, batch: int, anchors: _Anchors, start: tuple[int, str]
) -> tuple[int, Row[Any] | None, BrokenRow | None]:
    """Every row after `start` (seq, hash) up to the head's seq, in order; the intact
    count, the last row, a break."""
    if anchors.genesis_problem is not None and start[0] == 0:
        return 0, None, BrokenRow(Problem.checkpoint_mismatch, anchors.genesis_problem)
    checked, last = 0, None
    first_seq, (after, prev_hash) = start[0] + 1, start
    bounded = after > 0  # from genesis there is no lower bound, so a row below seq 1 shows
    while True:
        page = select(*_COLUMNS).where(_events.c.seq <= head.last_seq)
        if bounded:
            page = page.where(_events.c.seq > after)
        rows = session.execute(page.order_by(_events.c.seq).limit(batch)).all()
        for row in rows:
            broken = _check_row(row, first_seq + checked, prev_hash, first_seq)
            if broken is None and (mismatch := anchors.check(row.seq, row.row_hash)):
                broken = _broken(row, Problem.checkpoint_mismatch, mismatch)
            if broken is not None:
                return checked, last, broken
            checked, last, prev_hash = checked + 1, row, row.row_hash
        if len(rows) < batch:
            return checked, last, None
        after, bounded = rows[-1].seq, True


def _check_row(
    row: Row[Any], expected_seq: int, prev_hash: str, first_seq: int = 1
) -> BrokenRow | None:
    if row.seq < expected_seq:
        message = f"its seq precedes the chain's first row (seq {first_seq})"
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
