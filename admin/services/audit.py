"""The audit trail as administrators read it: prove the SM3 chain whole against the
signed checkpoints, sign a checkpoint now, and the newest rows.

Database and file errors pass through unchanged: they say the trail could not be read
or written, which each front end reports as "could not check", not as a broken chain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from admin.services.errors import ConflictError
from idp.audit import AuditEvent, Checkpointer, verify_chain
from idp.audit.checkpoint import Checkpoint, public_key_hex
from idp.audit.checkpoint_log import CheckpointLine, read_checkpoints
from idp.audit.checkpointer import CheckpointRefusedError
from idp.audit.verify import DEFAULT_BATCH, VerifyResult

ROW_COLUMNS = ("id", "seq", "occurred_at", "event", "actor", "channel", "ip", "person_id")


@dataclass(frozen=True)
class TrailCheck:
    """The chain's verdict, and the checkpoint lines read: good ones were checked
    against the chain, bad ones (a wrong signature, a malformed line) were not."""

    result: VerifyResult
    lines: list[CheckpointLine]
    sources: list[Path]

    @property
    def good(self) -> list[Checkpoint]:
        return [line.checkpoint for line in self.lines if line.good and line.checkpoint]

    @property
    def bad(self) -> list[CheckpointLine]:
        return [line for line in self.lines if not line.good]

    @property
    def ok(self) -> bool:
        return self.result.ok and not self.bad


class AuditTrail:
    def __init__(self, session_factory: Callable[[], Session], checkpointer: Checkpointer):
        self._factory = session_factory
        self._checkpointer = checkpointer

    @property
    def checkpoint_file(self) -> Path:
        return self._checkpointer.store.path

    def checkpoint_key(self) -> tuple[str, str]:
        """(key id, public key in hex) that verifies this instance's checkpoints: what a
        verifying machine needs, and no private key."""
        signer = self._checkpointer.signer
        return signer.key_id, public_key_hex(signer.public)

    def verify(self, sources: Sequence[Path] = (), *, batch: int = DEFAULT_BATCH) -> TrailCheck:
        """Recompute every row's hash in chain order, check the links and the head, and
        check that the row at each signed checkpoint in `sources` (default: the
        checkpoint directory) still has the head hash it signed."""
        where = list(sources) or [self._checkpointer.store.directory]
        # Read before the chain's head: every honest checkpoint is then at or below it.
        lines = read_checkpoints(where, self._checkpointer.keys)
        good = [line.checkpoint for line in lines if line.good and line.checkpoint is not None]
        with self._factory() as session:
            result = verify_chain(session, batch=max(batch, 1), checkpoints=good)
        return TrailCheck(result, lines, where)

    def checkpoint(self) -> Checkpoint | None:
        """Sign the chain's head now (None when the chain is empty). Refused when the
        chain does not continue from the last good checkpoint: a rewritten chain is
        never signed over."""
        try:
            return self._checkpointer.write()
        except CheckpointRefusedError as exc:
            raise ConflictError(
                f"no checkpoint written: {exc}", field="chain", rule="not_continued"
            ) from exc

    def newest(self, count: int) -> list[dict[str, Any]]:
        """The newest `count` rows, oldest first, as plain values."""
        with self._factory() as session:
            rows = session.execute(
                select(AuditEvent.__table__).order_by(AuditEvent.seq.desc()).limit(count)
            ).all()
        return [_row_json(row._mapping) for row in reversed(rows)]


def _row_json(row: Any) -> dict[str, Any]:
    event = {name: row[name] for name in (*ROW_COLUMNS, "detail")}
    event["occurred_at"] = row["occurred_at"].astimezone(UTC).isoformat()
    event["row_hash"] = row["row_hash"]
    return event
