"""`idp keys`: list the signing keys and rotate one algorithm's key (audited)."""

from __future__ import annotations

import json
from typing import Any, cast

import click
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from admin.output import fail
from idp.audit import record_event
from idp.audit.events import Event
from idp.keys import SUPPORTED_ALGS, KeyRing, Rotation
from idp.keys.models import SigningKey

COLUMNS = ("kid", "alg", "state", "created_at", "activated_at", "retiring_at", "retired_at")
DATES = frozenset(COLUMNS[3:])


def _keyring() -> KeyRing:
    return cast(KeyRing, current_app.extensions["idp.keys"])


@click.group("keys", help="Signing keys: list them, rotate one algorithm's key, retire one.")
def keys_group() -> None:
    pass


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def keys_list(as_json: bool) -> None:
    """Every signing key, oldest first: next, active and retiring keys are published."""
    try:
        keys = _keyring().list_keys()
    except SQLAlchemyError as exc:
        fail(f"database unavailable ({exc.__class__.__name__})", as_json=as_json)
    if as_json:
        click.echo(json.dumps({"ok": True, "keys": keys}))
        return
    if not keys:
        click.echo("no signing keys yet")
        return
    rows = [[_cell(name, key[name]) for name in COLUMNS] for key in keys]
    widths = [max(len(name), *(len(row[i]) for row in rows)) for i, name in enumerate(COLUMNS)]
    for row in [list(COLUMNS), *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


@keys_group.command("rotate")
@click.option("--alg", required=True, type=click.Choice(SUPPORTED_ALGS))
@click.option("--json", "as_json", is_flag=True)
def keys_rotate(alg: str, as_json: bool) -> None:
    """Make a new ALG key active. The old one keeps verifying (and stays in the JWKS)
    until every token it signed has expired."""
    done: list[Rotation] = []

    def audit(session: Session, rotation: Rotation) -> None:
        detail = _rotation_json(rotation)
        record_event(session, Event.key_rotated, actor="admin:cli", channel="admin", detail=detail)
        done[:] = [rotation]  # the last attempt is the one that committed

    try:
        _keyring().rotate(alg, audit=audit)
    except SQLAlchemyError as exc:
        fail(f"database unavailable ({exc.__class__.__name__})", as_json=as_json)
    rotation = done[0]
    if as_json:
        click.echo(json.dumps({"ok": True, **_rotation_json(rotation)}))
        return
    click.echo(f"{alg}: new active key {rotation.kid}")
    if rotation.previous:
        click.echo(f"{alg}: {rotation.previous} is retiring (still verifies, still published)")
    click.echo(f"{alg}: {rotation.next} is published as next (signs after the next rotation)")
    for kid in rotation.retired:
        click.echo(f"retired {kid}")


@keys_group.command("retire")
# an option, not an argument: a kid is base64url and may start with "-"
@click.option("--kid", required=True, help="The key to retire (see `idp keys list`).")
@click.option("--json", "as_json", is_flag=True)
def keys_retire(kid: str, as_json: bool) -> None:
    """Retire a key now (a next or retiring key, e.g. one thought compromised): tokens it
    signed stop verifying at once and it leaves the JWKS."""

    def audit(session: Session, key: SigningKey) -> None:
        detail = {"kid": key.kid, "alg": key.alg}
        record_event(session, Event.key_retired, actor="admin:cli", channel="admin", detail=detail)

    try:
        key = _keyring().retire(kid, audit=audit)
    except KeyError:
        fail(f"no signing key {kid}", as_json=as_json)
    except ValueError as exc:
        fail(str(exc), as_json=as_json)
    except SQLAlchemyError as exc:
        fail(f"database unavailable ({exc.__class__.__name__})", as_json=as_json)
    if as_json:
        click.echo(json.dumps({"ok": True, "kid": key.kid, "alg": key.alg, "state": key.state}))
        return
    click.echo(f"{key.alg}: {key.kid} retired; tokens it signed no longer verify")


def _rotation_json(rotation: Rotation) -> dict[str, Any]:
    return {
        "alg": rotation.alg,
        "kid": rotation.kid,
        "previous": rotation.previous,
        "next": rotation.next,
        "retired": list(rotation.retired),
    }


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column in DATES:  # 2026-11-23T03:58:03.181332+00:00 -> 2026-11-23 03:58:03Z
        return f"{value[:19].replace('T', ' ')}Z"
    return str(value)
