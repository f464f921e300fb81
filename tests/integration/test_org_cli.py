"""Counter registration of organisations through `idp org …`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from admin.org_cli import org_group
from connectors import synthetic
from idp import context
from idp.db import db
from realname.organizations import LEGAL_REPRESENTATIVE, Membership, Organization

DATA = synthetic.generate()
ACTIVE = DATA.enterprises_with("active")
REVOKED = DATA.enterprises_with("revoked")[0]
BY_NUMBER = {p.id_number: p for p in DATA.persons}
NOT_A_REP = next(
    p
    for p in DATA.persons_with("alive")
    if p.id_number not in {e.legal_rep_id_number for e in DATA.enterprises}
)
PASSWORD = "harbour-kite-2026"


def org(app, *args: str, stdin: str | None = None) -> tuple[int, dict]:
    with app.app_context():
        result = app.test_cli_runner().invoke(org_group, [*args, "--json"], input=stdin)
    return result.exit_code, json.loads(result.output.strip().splitlines()[-1])


def create(app, enterprise, *, uscc=None, name=None, id_number=None) -> tuple[int, dict]:
    return org(
        app,
        "create",
        "--uscc",
        uscc or enterprise.uscc,
        "--name",
        name or enterprise.name,
        "--legal-rep-id-number",
        "-",
        stdin=(id_number or enterprise.legal_rep_id_number) + "\n",
    )


def counter_person(app, who: synthetic.SyntheticPerson, phone: str) -> None:
    """Real-named account for `who`, made at the counter the way staff would."""
    with app.app_context():
        result = app.test_cli_runner().invoke(
            args=["person", "create", "--phone", phone, "--password", PASSWORD,
                  "--name", who.name, "--id-number", who.id_number],
        )  # fmt: skip
    assert result.exit_code == 0, result.output


def organizations(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Organization))


def test_counter_registration_for_a_real_named_legal_representative(app):
    enterprise = ACTIVE[0]
    counter_person(app, BY_NUMBER[enterprise.legal_rep_id_number], "17000000801")
    code, body = create(app, enterprise)
    assert code == 0 and body["ok"] is True, body
    organization = body["organization"]
    assert organization["uscc"] == enterprise.uscc and organization["pending_approval"] is False
    rep = organization["legal_representative"]
    assert rep["name"] == enterprise.legal_rep_name
    number = enterprise.legal_rep_id_number
    assert rep["id_number"] == number[:4] + "*" * 10 + number[-4:]
    assert enterprise.legal_rep_id_number not in json.dumps(body)
    with app.app_context():
        membership = db.session.scalar(select(Membership))
        assert membership.role == LEGAL_REPRESENTATIVE and membership.person_id == rep["person_id"]

    code, listed = org(app, "list")
    assert code == 0 and [o["uscc"] for o in listed["organizations"]] == [enterprise.uscc]
    assert enterprise.legal_rep_id_number not in json.dumps(listed)


def _typo(code: str) -> str:
    return code[:-1] + ("1" if code[-1] != "1" else "2")


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"uscc": _typo(ACTIVE[1].uscc)}, "uscc", "check_digit"),
        ({"uscc": REVOKED.uscc, "name": REVOKED.name}, "uscc", "not_active"),
        ({"name": "演示某某有限公司"}, "name", "name_mismatch"),
        ({"id_number": _typo(ACTIVE[1].legal_rep_id_number)}, "legal_rep_id_number", "check_digit"),
        ({"id_number": NOT_A_REP.id_number}, "legal_rep_id_number", "not_legal_representative"),
    ],
)
def test_refusals_name_the_rule_and_create_nothing(app, overrides, field, rule):
    enterprise = ACTIVE[1]
    counter_person(app, BY_NUMBER[enterprise.legal_rep_id_number], "17000000802")
    counter_person(app, NOT_A_REP, "17000000803")
    code, body = create(app, enterprise, **overrides)
    assert code == 1 and body["ok"] is False, body
    assert (body["field"], body["rule"]) == (field, rule)
    assert organizations(app) == 0
    for secret in (enterprise.legal_rep_id_number, NOT_A_REP.id_number):
        assert secret not in json.dumps(body)


def test_the_legal_representative_needs_an_account_first(app):
    code, body = create(app, ACTIVE[2])
    assert code == 1 and body["rule"] == "legal_representative_not_registered"
    assert ACTIVE[2].legal_rep_id_number not in body["error"]
    assert organizations(app) == 0


def test_a_code_registers_once(app):
    enterprise = ACTIVE[3]
    counter_person(app, BY_NUMBER[enterprise.legal_rep_id_number], "17000000804")
    assert create(app, enterprise)[0] == 0
    code, body = create(app, enterprise)
    assert code == 1 and body["rule"] == "already_registered"
    assert organizations(app) == 1


def test_registry_outage_exits_2_and_creates_nothing(app):
    enterprise = ACTIVE[4]
    counter_person(app, BY_NUMBER[enterprise.legal_rep_id_number], "17000000805")
    with app.app_context():
        context.connectors().enterprise.available = False
    try:
        code, body = create(app, enterprise)
    finally:
        with app.app_context():
            context.connectors().enterprise.available = True
    assert code == 2 and body["rule"] == "registry_unavailable"
    assert organizations(app) == 0


def test_plain_output_masks_the_id_number(app):
    enterprise = ACTIVE[5]
    counter_person(app, BY_NUMBER[enterprise.legal_rep_id_number], "17000000806")
    with app.app_context():
        runner = app.test_cli_runner()
        created = runner.invoke(
            org_group,
            ["create", "--uscc", enterprise.uscc, "--name", enterprise.name,
             "--legal-rep-id-number", enterprise.legal_rep_id_number],
        )  # fmt: skip
        listed = runner.invoke(org_group, ["list"])
        refused = runner.invoke(
            org_group,
            ["create", "--uscc", enterprise.uscc, "--name", enterprise.name,
             "--legal-rep-id-number", enterprise.legal_rep_id_number],
        )  # fmt: skip
    assert created.exit_code == 0 and enterprise.uscc in created.output
    assert enterprise.name in listed.output
    assert refused.exit_code == 1 and "already_registered" in refused.output
    for result in (created, listed, refused):
        assert enterprise.legal_rep_id_number not in result.output
