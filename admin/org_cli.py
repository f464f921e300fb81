"""`idp org …`: counter registration of organisations (legal persons) and the list of them.
The rules are admin.services.organizations'; this parses options and prints."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from admin import services
from admin.cli import ACTOR, READ_STDIN
from admin.output import refuse
from admin.services.errors import AdminError
from idp.accounts.models import Person
from idp.db import db
from realname.organizations import Organization

# what to do first when the legal representative has no real-named account yet
CREATE_FIRST = "create it first (idp person create --name --id-number)"


def org_json(organization: Organization, legal_rep: Person | None) -> dict[str, Any]:
    return {
        "id": organization.id,
        "uscc": organization.uscc,
        "name": organization.name,
        "status": organization.status,
        "pending_approval": organization.pending_approval,
        "legal_representative": None
        if legal_rep is None
        else {
            "person_id": legal_rep.id,
            "name": legal_rep.name,
            "id_number": services.people().masked_id_number(legal_rep),
        },
        "created_at": organization.created_at.isoformat(),
        "verified_at": organization.verified_at.isoformat(),
        "approved_at": organization.approved_at.isoformat() if organization.approved_at else None,
    }


@click.group("org", help="Organisations (legal persons).")
def org_group() -> None:
    pass


@org_group.command("create")
@click.option("--uscc", required=True, help="Unified social credit code (统一社会信用代码).")
@click.option("--name", required=True, help="The name exactly as registered.")
@click.option(
    "--legal-rep-id-number",
    required=True,
    help="The legal representative's resident ID number; `-` reads it from standard input.",
)
@click.option("--json", "as_json", is_flag=True)
def org_create(uscc: str, name: str, legal_rep_id_number: str, as_json: bool) -> None:
    """Register an organisation at the counter (柜面注册), for its legal representative.

    The code must pass the GB 32100 rules and the enterprise registry must have it, active,
    under NAME, with the holder of --legal-rep-id-number as legal representative, who must
    already have a real-named account. Nothing is created when any of this fails.
    """
    if legal_rep_id_number == READ_STDIN:
        legal_rep_id_number = sys.stdin.readline().strip()
    try:
        with db.transaction() as session:
            registered = services.organizations().register_at_counter(
                session,
                actor=ACTOR,
                uscc=uscc,
                name=name,
                legal_rep_id_number=legal_rep_id_number,
            )
    except AdminError as exc:
        first = exc.rule == "legal_representative_not_registered"
        refuse(exc, as_json=as_json, message=f"{exc.message}: {CREATE_FIRST}" if first else None)
    organization, legal_rep = registered.organization, registered.legal_representative
    if as_json:
        body = {"ok": True, "organization": org_json(organization, legal_rep)}
        click.echo(json.dumps(body, ensure_ascii=False))
    else:
        click.echo(
            f"registered {organization.uscc} {organization.name} ({organization.id}); "
            f"legal representative {legal_rep.name} {registered.masked_id_number}"
        )


@org_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def org_list(as_json: bool) -> None:
    """Every registered organisation, oldest first, with its legal representative."""
    people = services.people()
    listed = services.organizations().list_with_legal_representatives(db.session)
    if as_json:
        shown = [org_json(organization, rep) for organization, rep in listed]
        click.echo(json.dumps({"ok": True, "organizations": shown}, ensure_ascii=False))
        return
    if not listed:
        click.echo("no organisations")
    for organization, rep in listed:
        state = "pending approval" if organization.pending_approval else organization.status
        number = (people.masked_id_number(rep) if rep else None) or ""
        click.echo(
            f"{organization.uscc}  {organization.name}  {state}  "
            f"{rep.name if rep else '-'} {number}".rstrip()
        )
