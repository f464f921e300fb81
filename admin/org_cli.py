"""`idp org …`: counter registration of organisations (legal persons) and the list of them."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from sqlalchemy import select

from admin.person_cli import READ_STDIN, fail
from idp import context
from idp.accounts.models import Person
from idp.db import db
from realname.identifiers import IdType, check, mask
from realname.legal_persons import LegalPersonError, normalise_uscc, register_organization
from realname.organizations import LEGAL_REPRESENTATIVE, Membership, Organization
from realname.proofing import REAL_NAME_LOA, id_index

# Which option a refusal code is about; every other code is about --uscc.
FIELDS = {
    "name": "name",
    "name_mismatch": "name",
    "not_legal_representative": "legal_rep_id_number",
    "account_not_active": "legal_rep_id_number",
    "real_name_required": "legal_rep_id_number",
}


def _masked_id_number(person: Person) -> str | None:
    if person.id_number_sealed is None or person.id_type is None:
        return None
    sealer = context.accounts().sealer
    number = sealer.open(person.id_number_sealed, f"persons|id_number|{person.id}")
    return mask(person.id_type, number)


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
            "id_number": _masked_id_number(legal_rep),
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
        code = normalise_uscc(uscc)
    except LegalPersonError as exc:
        fail(f"invalid uscc: {exc.code}", as_json=as_json, field="uscc", rule=exc.code)
    verdict = check(IdType.RESIDENT, legal_rep_id_number)
    if not verdict.valid or verdict.normalised is None:
        fail(
            f"invalid legal representative ID number {verdict.masked}: {verdict.rule}",
            as_json=as_json,
            field="legal_rep_id_number",
            rule=str(verdict.rule),
        )
    accounts = context.accounts()
    session = db.session
    index = id_index(accounts, IdType.RESIDENT, verdict.normalised)
    legal_rep = session.scalar(select(Person).where(Person.id_number_index == index))
    if legal_rep is None or legal_rep.loa < REAL_NAME_LOA:
        fail(
            f"no real-named account holds {verdict.masked}: create it first "
            "(idp person create --name --id-number)",
            as_json=as_json,
            field="legal_rep_id_number",
            rule="legal_representative_not_registered",
        )
    try:
        organization = register_organization(
            session,
            accounts,
            context.connectors().enterprise,
            legal_rep,
            code,
            name,
            allow_pending=False,
            channel="counter",
            actor="admin:cli",
        )
    except LegalPersonError as exc:
        session.rollback()
        fail(
            f"registration refused: {exc.code}",
            as_json=as_json,
            code=2 if exc.code == "registry_unavailable" else 1,
            field=FIELDS.get(exc.code, "uscc"),
            rule=exc.code,
        )
    session.commit()
    if as_json:
        body = {"ok": True, "organization": org_json(organization, legal_rep)}
        click.echo(json.dumps(body, ensure_ascii=False))
    else:
        click.echo(
            f"registered {organization.uscc} {organization.name} ({organization.id}); "
            f"legal representative {legal_rep.name} {verdict.masked}"
        )


@org_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def org_list(as_json: bool) -> None:
    """Every registered organisation, oldest first, with its legal representative."""
    session = db.session
    organizations = session.scalars(select(Organization).order_by(Organization.created_at)).all()
    reps = {
        organization_id: person
        for organization_id, person in session.execute(
            select(Membership.organization_id, Person)
            .join(Person, Person.id == Membership.person_id)
            .where(Membership.role == LEGAL_REPRESENTATIVE)
        ).all()
    }
    if as_json:
        listed = [org_json(o, reps.get(o.id)) for o in organizations]
        click.echo(json.dumps({"ok": True, "organizations": listed}, ensure_ascii=False))
        return
    if not organizations:
        click.echo("no organisations")
    for organization in organizations:
        rep = reps.get(organization.id)
        state = "pending approval" if organization.pending_approval else organization.status
        click.echo(
            f"{organization.uscc}  {organization.name}  {state}  "
            f"{rep.name if rep else '-'} {(_masked_id_number(rep) if rep else None) or ''}".rstrip()
        )
