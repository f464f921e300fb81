"""`idp audit`: prove the audit trail's SM3 chain whole, and show its newest rows.

`idp audit verify` exits 0 when every row is intact, 1 when the chain is broken (naming
the first broken row), 2 when it could not check (database unavailable, schema too old).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC
from typing import Any, NoReturn

import click
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from admin.output import fail
from idp.audit import AuditEvent, verify_chain
from idp.audit.verify import DEFAULT_BATCH, VerifyResult
from idp.db import db

BROKEN = 1
CANNOT_CHECK = 2
TAIL_COLUMNS = ("seq", "occurred_at", "event", "actor", "channel", "ip")


@click.group("audit", help="The audit trail: verify its SM3 hash chain, show the newest rows.")
def audit_group() -> None:
    pass


@audit_group.command("verify")
@click.option("--json", "as_json", is_flag=True)
@click.option("--batch", default=DEFAULT_BATCH, show_default=True, hidden=True, type=int)
def audit_verify(as_json: bool, batch: int) -> None:
    """Recompute every row's hash in chain order and check the links and the head.

    Exit 0 when the trail is whole, 1 when it is broken (the first broken row is named),
    2 when it could not be checked."""
    try:
        with db.database.factory() as session:
            result = verify_chain(session, batch=max(batch, 1))
    except SQLAlchemyError as exc:
        _cannot_check(exc, as_json)
    if as_json:
        broken = result.first_broken.as_json() if result.first_broken else None
        click.echo(json.dumps({"ok": result.ok, "checked": result.checked, "first_broken": broken}))
    else:
        _report(result)
    if not result.ok:
        sys.exit(BROKEN)


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


def _event_json(row: Any) -> dict[str, Any]:
    event = {name: row[name] for name in ("id", *TAIL_COLUMNS, "person_id", "detail")}
    event["occurred_at"] = row["occurred_at"].astimezone(UTC).isoformat()
    event["row_hash"] = row["row_hash"]
    return event


def _cannot_check(exc: SQLAlchemyError, as_json: bool) -> NoReturn:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    message = f"cannot read the audit trail ({reason}); is the database at `idp db upgrade`?"
    fail(message, as_json=as_json, code=CANNOT_CHECK)
