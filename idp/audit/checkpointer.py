"""Writing signed checkpoints: on demand (`idp audit checkpoint`), and periodically, after a
commit that appended audit rows once `every` rows or `interval` seconds have gone by.

Never before the commit: a row that is rolled back must not be checkpointed, so record_event
only counts its rows in `session.info`, and the count is acted on after the commit (and
dropped on a rollback). The periodic write runs on a thread of its own, so no request
waits for it; all a request pays is a counter.

Before it signs a new head, a writer proves that the chain from the last good checkpoint up
to that head is intact (`verify_since`), at the cost of reading the rows since then. A
rewrite of rows already checkpointed is then refused loudly in the log instead of being
signed over, and the next checkpoint cannot launder it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from idp.audit.chain import AuditChainError, read_head
from idp.audit.checkpoint import Checkpoint, CheckpointKeys, CheckpointSigner
from idp.audit.checkpoint_log import LOG_MARKER, CheckpointLog
from idp.audit.verify import BrokenRow, verify_since
from idp.db import utcnow

log = logging.getLogger("idp.audit.checkpoint")

#: session.info key: audit rows the session's transaction appended, not yet committed
APPENDED = "idp.audit.appended"

_by_engine: WeakKeyDictionary[Engine, Checkpointer] = WeakKeyDictionary()


class CheckpointRefusedError(Exception):
    """The chain in the database does not extend the last good checkpoint."""

    def __init__(self, last: Checkpoint | None, broken: BrokenRow) -> None:
        since = f"checkpoint at seq {last.seq}" if last else "the genesis"
        super().__init__(f"the audit chain does not continue from {since}: {broken.message}")
        self.last = last
        self.broken = broken


class Checkpointer:
    """Signs the chain's head and appends it to the checkpoint log and the log stream."""

    def __init__(
        self,
        engine: Engine,
        signer: CheckpointSigner,
        keys: CheckpointKeys,
        store: CheckpointLog,
        *,
        every: int,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.signer = signer
        # What verify trusts; the writer also continues from its own key's checkpoints, so
        # that a server whose key is missing from the configured list still checks only
        # the rows since its last checkpoint.
        self.keys = keys
        self._continue_from = CheckpointKeys([*keys.by_id.values(), signer.public])
        self.store = store
        self.every = every
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()  # guards the counters and the thread
        self._writing = threading.Lock()  # one writer at a time in this process
        self._pending = 0
        self._since = clock()
        self._thread: threading.Thread | None = None

    def register(self) -> None:
        """Checkpoint periodically after commits on this engine."""
        _by_engine[self.engine] = self

    def appended(self, count: int) -> None:
        """`count` audit rows were committed; start a checkpoint if one is due. Each worker
        process counts its own rows: together they checkpoint about every `every` rows."""
        with self._lock:
            self._pending += count
            due = self._pending >= self.every or self._clock() - self._since >= self.interval
            if not due or (self._thread is not None and self._thread.is_alive()):
                return
            self._pending, self._since = 0, self._clock()
            self._thread = threading.Thread(
                target=self._write_quietly, name="idp-audit-checkpoint", daemon=True
            )
            self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Until a periodic checkpoint being written is written (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def write(self) -> Checkpoint | None:
        """Check the chain since the last good checkpoint, sign its head and append it.
        None when the chain is empty; CheckpointRefusedError when the chain does not
        continue from the last good checkpoint."""
        with self._writing, Session(self.engine) as session:
            head = read_head(session)
            if head is None:
                raise AuditChainError("audit_chain_head is missing: run `idp db upgrade`")
            if head.last_seq == 0:
                return None
            last = self.store.last_good(self._continue_from)
            result = verify_since(session, last)
            if result.first_broken is not None:
                raise CheckpointRefusedError(last, result.first_broken)
            assert result.head_seq is not None and result.head_hash is not None
            checkpoint = self.signer.sign(result.head_seq, result.head_hash, utcnow())
            self.store.append(checkpoint)
        # The log stream is the second copy: a file the database's owner might reach can be
        # truncated, a shipped log line cannot be called back.
        log.info("%s%s", LOG_MARKER, checkpoint.as_line())
        return checkpoint

    def _write_quietly(self) -> None:
        # After the commit, on a thread: nothing may reach the request that caused it.
        try:
            self.write()
        except CheckpointRefusedError as exc:
            log.error("audit checkpoint REFUSED: %s; run `idp audit verify`", exc)
        except Exception:
            log.exception("audit checkpoint not written")


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    appended = session.info.pop(APPENDED, 0)
    if not appended:
        return
    bind = session.get_bind()
    checkpointer = _by_engine.get(getattr(bind, "engine", bind))  # type: ignore[arg-type]
    if checkpointer is not None:
        checkpointer.appended(appended)


@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, *_args: object) -> None:
    session.info.pop(APPENDED, None)
