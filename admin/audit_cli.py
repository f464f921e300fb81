"""`idp audit`: prove the audit trail's SM3 chain whole against its signed checkpoints,
write a checkpoint now, and show the newest rows.

`idp audit verify` exits 0 when every row is intact and matches every signed checkpoint,
1 when the chain is broken (naming the first broken row) or a checkpoint line is bad, 2
when it could not check (database unavailable, schema too old).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC
from pathlib import Path
from typing import Any, NoReturn, cast

import click
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from admin.output import fail
from idp.audit import AuditEvent, Checkpointer, verify_chain
from idp.audit.chain import AuditChainError
from idp.audit.checkpoint import public_key_hex
from idp.audit.checkpoint_log import CheckpointLine, read_checkpoints
from idp.audit.checkpointer import CheckpointRefusedError
from idp.audit.verify import DEFAULT_BATCH, VerifyResult
from idp.db import db

BROKEN = 1
CANNOT_CHECK = 2
TAIL_COLUMNS = ("seq", "occurred_at", "event", "actor", "channel", "ip")


@click.group(
    "audit",
    help="The audit trail: verify its SM3 hash chain and signed checkpoints, show the newest rows.",
)
def audit_group() -> None:
    pass


@audit_group.command("verify")
@click.option("--json", "as_json", is_flag=True)
@click.option("--batch", default=DEFAULT_BATCH, show_default=True, hidden=True, type=int)
@click.option(
    "--checkpoints",
    "sources",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Checkpoint files or directories, or log files with checkpoint lines "
    "[default: IDP_AUDIT_CHECKPOINT_DIR].",
)
def audit_verify(as_json: bool, batch: int, sources: tuple[Path, ...]) -> None:
    """Recompute every row's hash in chain order, check the links and the head, and check
    that the row at each signed checkpoint still has the head hash it signed.

    Exit 0 when the trail is whole, 1 when it is broken (the first broken row is named) or
    a checkpoint line is not a good signed checkpoint, 2 when it could not be checked."""
    checkpointer = _checkpointer()
    # Read before the chain's head: every honest checkpoint is then at or below that head.
    try:
        lines = read_checkpoints(sources or [checkpointer.store.directory], checkpointer.keys)
    except OSError as exc:
        fail(f"cannot read the checkpoints: {exc}", as_json=as_json, code=CANNOT_CHECK)
    good = [line.checkpoint for line in lines if line.good and line.checkpoint is not None]
    bad = [line for line in lines if not line.good]
    try:
        with db.database.factory() as session:
            result = verify_chain(session, batch=max(batch, 1), checkpoints=good)
    except SQLAlchemyError as exc:
        _cannot_check(exc, as_json)
    if as_json:
        broken = result.first_broken.as_json() if result.first_broken else None
        answer: dict[str, Any] = {
            "ok": result.ok and not bad,
            "checked": result.checked,
            "first_broken": broken,
        }
        if lines:  # without checkpoints the answer stays what it always was
            answer["checkpoints"] = {
                "good": len(good),
                "last_good_seq": result.last_good_checkpoint,
                "bad": [{"where": line.where, "problem": line.problem} for line in bad],
            }
        click.echo(json.dumps(answer))
    else:
        _report(result)
        _report_checkpoints(result, len(good), bad, sources or [checkpointer.store.directory])
    if not result.ok or bad:
        sys.exit(BROKEN)


@audit_group.command("checkpoint")
@click.option("--json", "as_json", is_flag=True)
def audit_checkpoint(as_json: bool) -> None:
    """Sign the chain's head now and append the checkpoint to IDP_AUDIT_CHECKPOINT_DIR and
    the log. Refused (exit 1) when the chain does not continue from the last good
    checkpoint: a rewritten chain is never signed over."""
    checkpointer = _checkpointer()
    try:
        checkpoint = checkpointer.write()
    except CheckpointRefusedError as exc:
        fail(f"no checkpoint written: {exc}; run `idp audit verify`", as_json=as_json)
    except (SQLAlchemyError, AuditChainError) as exc:
        _cannot_check(exc, as_json)
    except OSError as exc:
        fail(f"cannot write the checkpoint: {exc}", as_json=as_json, code=CANNOT_CHECK)
    path = str(checkpointer.store.path)
    if as_json:
        written = checkpoint.as_json() if checkpoint else None
        click.echo(json.dumps({"ok": True, "checkpoint": written, "file": path}))
    elif checkpoint is None:
        click.echo("audit chain empty: nothing to checkpoint")
    else:
        click.echo(
            f"audit checkpoint written: seq {checkpoint.seq}, head {checkpoint.head[:16]}…, "
            f"key {checkpoint.key}, to {path}"
        )


@audit_group.command("checkpoint-key")
@click.option("--json", "as_json", is_flag=True)
def audit_checkpoint_key(as_json: bool) -> None:
    """The public key that verifies this instance's checkpoints: give it to a verifying
    machine as IDP_AUDIT_CHECKPOINT_PUBLIC_KEY (it needs no private key)."""
    signer = _checkpointer().signer
    public = public_key_hex(signer.public)
    if as_json:
        click.echo(json.dumps({"ok": True, "key_id": signer.key_id, "public_key": public}))
    else:
        click.echo(f"key id {signer.key_id}\npublic key {public}")


@audit_group.command("tail")
@click.option("-n", "count", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
def audit_tail(count: int, as_json: bool) -> None:
    """The newest COUNT audit rows, oldest first."""
    try:
        with db.database.factory() as session:
            rows = session.execute(
                select(AuditEvent.__table__).order_by(AuditEvent.seq.desc()).limit(count)
            ).all()
    except SQLAlchemyError as exc:
        _cannot_check(exc, as_json)
    events = [_event_json(row._mapping) for row in reversed(rows)]
    if as_json:
        click.echo(json.dumps({"ok": True, "events": events}, ensure_ascii=False))
        return
    for event in events:
        cells = [str(event[name] if event[name] is not None else "-") for name in TAIL_COLUMNS]
        click.echo("  ".join([*cells, json.dumps(event["detail"], ensure_ascii=False)]))


def _report(result: VerifyResult) -> None:
    broken = result.first_broken
    if broken is None:
        click.echo(
            f"audit chain intact: {result.checked} row{'' if result.checked == 1 else 's'}, "
            f"head at seq {result.head_seq} ({(result.head_hash or '')[:16]}…)"
        )
        return
    where = "the chain head"
    if broken.occurred_at is not None:
        at = broken.occurred_at.astimezone(UTC)
        where = f"row id {broken.id} (seq {broken.seq}, {broken.event}, {at:%Y-%m-%d %H:%M:%S}Z)"
    click.echo(f"audit chain BROKEN at {where}: {broken.problem.value.replace('_', ' ')}")
    click.echo(f"  {broken.message}")
    click.echo(f"  {result.checked} rows checked intact before the break")


def _report_checkpoints(
    result: VerifyResult, good: int, bad: list[CheckpointLine], sources: Any
) -> None:
    for line in bad:
        click.echo(f"audit checkpoint BAD at {line.where}: {line.problem}")
    if bad or not result.ok:
        return
    if not good:
        where = ", ".join(str(s) for s in sources)
        click.echo(
            f"  no signed checkpoints in {where}: the chain is not anchored outside the database"
        )
        return
    last = result.last_good_checkpoint
    click.echo(
        f"  {good} signed checkpoint{'' if good == 1 else 's'} match, the last at seq {last}"
        + (f"; rows after seq {last} are not yet checkpointed" if last != result.head_seq else "")
    )


def _checkpointer() -> Checkpointer:
    return cast(Checkpointer, current_app.extensions["idp.audit.checkpointer"])


def _event_json(row: Any) -> dict[str, Any]:
    event = {name: row[name] for name in ("id", *TAIL_COLUMNS, "person_id", "detail")}
    event["occurred_at"] = row["occurred_at"].astimezone(UTC).isoformat()
    event["row_hash"] = row["row_hash"]
    return event


def _cannot_check(exc: SQLAlchemyError | AuditChainError, as_json: bool) -> NoReturn:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    message = f"cannot read the audit trail ({reason}); is the database at `idp db upgrade`?"
    fail(message, as_json=as_json, code=CANNOT_CHECK)
