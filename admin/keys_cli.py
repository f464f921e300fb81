"""`idp keys`: list the signing keys and rotate one algorithm's key (audited). The rules
are admin.services.keys'; this parses options and prints."""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from admin import services
from admin.cli import ACTOR
from admin.output import fail
from admin.services.errors import AdminError
from admin.services.keys import rotation_json
from idp.keys import SUPPORTED_ALGS

COLUMNS = ("kid", "alg", "state", "created_at", "activated_at", "retiring_at", "retired_at")
DATES = frozenset(COLUMNS[3:])


@click.group("keys", help="Signing keys: list them, rotate one algorithm's key, retire one.")
def keys_group() -> None:
    pass


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def keys_list(as_json: bool) -> None:
    """Every signing key, oldest first: next, active and retiring keys are published."""
    try:
        keys = services.keys().list_keys()
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
    try:
        rotation = services.keys().rotate(alg, actor=ACTOR)
    except AdminError as exc:
        fail(exc.message, as_json=as_json)
    except SQLAlchemyError as exc:
        fail(f"database unavailable ({exc.__class__.__name__})", as_json=as_json)
    if as_json:
        click.echo(json.dumps({"ok": True, **rotation_json(rotation)}))
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
    try:
        key = services.keys().retire(kid, actor=ACTOR)
    except AdminError as exc:
        fail(exc.message, as_json=as_json)
    except SQLAlchemyError as exc:
        fail(f"database unavailable ({exc.__class__.__name__})", as_json=as_json)
    if as_json:
        click.echo(json.dumps({"ok": True, "kid": key.kid, "alg": key.alg, "state": key.state}))
        return
    click.echo(f"{key.alg}: {key.kid} retired; tokens it signed no longer verify")


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if column in DATES:  # 2026-11-23T03:58:03.181332+00:00 -> 2026-11-23 03:58:03Z
        return f"{value[:19].replace('T', ' ')}Z"
    return str(value)
