"""`idp person …`: counter registration (柜面注册), sign-in blocks, in-person verification."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from admin.output import fail
from idp import context
from idp.accounts.models import Person
from idp.accounts.services import AccountExistsError, InvalidIdentifierError
from idp.accounts.throttle import account_key
from idp.audit import record_event
from idp.audit.events import Event
from idp.crypto.passwords import PasswordRejectedError
from idp.db import db
from realname.proofing import Outcome, prove_real_name

READ_STDIN = "-"
IN_PERSON_LOA = 5


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


def _prove(person: Person, name: str, id_type: str, id_number: str, as_json: bool) -> None:
    """Real-name check inside the caller's transaction; refusal exits (and rolls back)."""
    result = prove_real_name(
        db.session,
        context.accounts(),
        context.connectors().population,
        person,
        name=name,
        id_type=id_type,
        id_number=id_number,
        channel="counter",
    )
    if result.outcome is not Outcome.verified:
        db.session.rollback()
        fail(
            f"real-name check refused: {result.outcome}"
            + (f" ({result.rule})" if result.rule else ""),
            as_json=as_json,
            code=2 if result.outcome is Outcome.unavailable else 1,
            field="id_number",
            rule=result.rule or str(result.outcome),
        )


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
    if id_number and not name:
        fail("--id-number needs --name", as_json=as_json, field="name", rule="required")
    session = db.session
    try:
        person = context.accounts().create_person(
            session,
            username=username,
            phone=phone,
            password=password,
            name=None if id_number else name,
        )
    except InvalidIdentifierError as exc:
        fail(f"invalid {exc.field}: {exc.rule}", as_json=as_json, field=exc.field, rule=exc.rule)
    except AccountExistsError as exc:
        fail(
            f"a person with this {exc.field} already exists",
            as_json=as_json,
            field=exc.field,
            rule="exists",
        )
    except PasswordRejectedError as exc:
        fail(
            f"password refused: {exc.problem}",
            as_json=as_json,
            field="password",
            rule=str(exc.problem),
        )
    person.phone_verified = True  # shown at the counter
    if id_number and name:
        _prove(person, name, id_type, id_number, as_json)
    record_event(
        session,
        Event.person_created,
        person_id=person.id,
        actor="admin:cli",
        channel="counter",
        detail={"loa": person.loa},
    )
    session.commit()
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
    person = context.accounts().find_by_login(db.session, account)
    if person is None:
        fail("no such person", as_json=as_json, field="account", rule="unknown")
    _prove(person, name, id_type, id_number, as_json)
    person.loa = IN_PERSON_LOA
    record_event(
        db.session,
        Event.person_verified_in_person,
        person_id=person.id,
        actor=f"counter:{operator}"[:80],
        channel="counter",
        detail={"loa": IN_PERSON_LOA},
    )
    db.session.commit()
    if as_json:
        click.echo(json.dumps({"ok": True, "person": person_json(person)}, ensure_ascii=False))
    else:
        click.echo(f"{person.id} verified in person: level {person.loa}")


@person_group.command("unlock")
@click.argument("identifier")
def person_unlock(identifier: str) -> None:
    """Lift a sign-in block on the account IDENTIFIER (user name, phone or ID number)."""
    person = context.accounts().find_by_login(db.session, identifier)
    if person is None:
        fail("no such person", as_json=False)
    context.login_throttle().unblock(account_key(person.id, identifier))
    record_event(
        db.session, Event.person_unlocked, person_id=person.id, actor="admin:cli", channel="admin"
    )
    db.session.commit()
    click.echo(f"unlocked {person.id}")
