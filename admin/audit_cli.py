"""`idp audit`: prove the audit trail's SM3 chain whole against its signed checkpoints,
write a checkpoint now, and show the newest rows.

`idp audit verify` exits 0 when every row is intact and matches every signed checkpoint,
1 when the chain is broken (naming the first broken row) or a checkpoint line is bad, 2
when it could not check (database unavailable, schema too old). The reading and
signing are admin.services.audit's; this parses options and prints.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from admin import services
from admin.output import fail
from admin.services.errors import AdminError
from idp.audit.chain import AuditChainError
from idp.audit.checkpoint_log import CheckpointLine
from idp.audit.verify import DEFAULT_BATCH, VerifyResult

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
    try:
        check = services.audit_trail().verify(sources, batch=batch)
    except OSError as exc:
        fail(f"cannot read the checkpoints: {exc}", as_json=as_json, code=CANNOT_CHECK)
    except SQLAlchemyError as exc:
        _cannot_check(exc, as_json)
    result, lines, good, bad = check.result, check.lines, check.good, check.bad
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
        _report_checkpoints(result, len(good), bad, check.sources)
    if not check.ok:
        sys.exit(BROKEN)


@audit_group.command("checkpoint")
@click.option("--json", "as_json", is_flag=True)
def audit_checkpoint(as_json: bool) -> None:
    """Sign the chain's head now and append the checkpoint to IDP_AUDIT_CHECKPOINT_DIR and
    the log. Refused (exit 1) when the chain does not continue from the last good
    checkpoint: a rewritten chain is never signed over."""
    trail = services.audit_trail()
    try:
        checkpoint = trail.checkpoint()
    except AdminError as exc:
        fail(f"{exc.message}; run `idp audit verify`", as_json=as_json)
    except (SQLAlchemyError, AuditChainError) as exc:
        _cannot_check(exc, as_json)
    except OSError as exc:
        fail(f"cannot write the checkpoint: {exc}", as_json=as_json, code=CANNOT_CHECK)
    path = str(trail.checkpoint_file)
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
    key_id, public = services.audit_trail().checkpoint_key()
    if as_json:
        click.echo(json.dumps({"ok": True, "key_id": key_id, "public_key": public}))
    else:
        click.echo(f"key id {key_id}\npublic key {public}")


@audit_group.command("tail")
@click.option("-n", "count", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
def audit_tail(count: int, as_json: bool) -> None:
    """The newest COUNT audit rows, oldest first."""
    try:
        events = services.audit_trail().newest(count)
    except SQLAlchemyError as exc:
        _cannot_check(exc, as_json)
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


def _cannot_check(exc: SQLAlchemyError | AuditChainError, as_json: bool) -> NoReturn:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    message = f"cannot read the audit trail ({reason}); is the database at `idp db upgrade`?"
    fail(message, as_json=as_json, code=CANNOT_CHECK)
