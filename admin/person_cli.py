"""`idp person …`: counter registration (柜面注册), sign-in blocks, in-person verification.
The rules are admin.services.people's; this parses options and prints."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from admin import services
from admin.cli import ACTOR, READ_STDIN
from admin.output import fail, refuse
from admin.services.errors import AdminError
from idp import context
from idp.accounts.models import Person
from idp.db import db


def person_json(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "username": person.username,
        "name": person.name,
        "phone": context.accounts().masked_phone(person),
        "loa": person.loa,
        "status": person.status,
        "created_at": person.created_at.isoformat(),
    }


@click.group("person", help="Person accounts.")
def person_group() -> None:
    pass


def _read_password(password: str | None) -> str:
    if password == READ_STDIN:
        return sys.stdin.readline().rstrip("\n")
    if password is None:
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return password


@person_group.command("create")
@click.option("--username", default=None)
@click.option("--phone", required=True)
@click.option("--password", default=None, help="`-` reads it from standard input.")
@click.option("--name", default=None, help="Real name; with --id-number it is verified.")
@click.option("--id-type", default="resident", show_default=True)
@click.option("--id-number", default=None, help="`-` reads it from standard input.")
@click.option("--json", "as_json", is_flag=True)
def person_create(
    username: str | None,
    phone: str,
    password: str | None,
    name: str | None,
    id_type: str,
    id_number: str | None,
    as_json: bool,
) -> None:
    """Create a person (counter registration). With --name and --id-number the identity is
    checked against the population registry first; nothing is created if it fails."""
    if id_number == READ_STDIN:
        id_number = sys.stdin.readline().strip()
    password = _read_password(password)
    try:
        with db.transaction() as session:
            person = services.people().register_at_counter(
                session,
                actor=ACTOR,
                username=username,
                phone=phone,
                password=password,
                name=name,
                id_type=id_type,
                id_number=id_number,
            )
    except AdminError as exc:
        needs_name = (exc.field, exc.rule) == ("name", "required")
        refuse(exc, as_json=as_json, message="--id-number needs --name" if needs_name else None)
    if as_json:
        click.echo(json.dumps({"ok": True, "person": person_json(person)}, ensure_ascii=False))
    else:
        click.echo(
            f"created person {person.id} ({person.username or '-'}, "
            f"{context.accounts().masked_phone(person)}, level {person.loa})"
        )


@person_group.command("verify-in-person")
@click.argument("account")
@click.option("--name", required=True)
@click.option("--id-type", default="resident", show_default=True)
@click.option("--id-number", required=True, help="`-` reads it from standard input.")
@click.option("--operator", required=True, help="Counter staff ID, for the audit trail.")
@click.option("--json", "as_json", is_flag=True)
def verify_in_person(
    account: str, name: str, id_type: str, id_number: str, operator: str, as_json: bool
) -> None:
    """Record a counter check (柜面核验) of ACCOUNT's certificate: level 5."""
    if id_number == READ_STDIN:
        id_number = sys.stdin.readline().strip()
    try:
        with db.transaction() as session:
            person = services.people().verify_in_person(
                session,
                account,
                actor=f"counter:{operator}"[:80],
                name=name,
                id_type=id_type,
                id_number=id_number,
            )
    except AdminError as exc:
        refuse(exc, as_json=as_json)
    if as_json:
        click.echo(json.dumps({"ok": True, "person": person_json(person)}, ensure_ascii=False))
    else:
        click.echo(f"{person.id} verified in person: level {person.loa}")


@person_group.command("unlock")
@click.argument("identifier")
def person_unlock(identifier: str) -> None:
    """Lift a sign-in block on the account IDENTIFIER (user name, phone or ID number)."""
    try:
        with db.transaction() as session:
            person = services.people().unlock(session, identifier, actor=ACTOR)
    except AdminError as exc:
        fail(exc.message, as_json=False)
    click.echo(f"unlocked {person.id}")
