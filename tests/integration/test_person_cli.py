"""Counter registration and in-person verification through `idp person …`."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from connectors import synthetic
from idp.accounts.models import Person
from idp.audit.models import AuditEvent
from idp.db import db

ALIVE = [p for p in synthetic.generate().persons if p.status == "alive"]
PASSWORD = "lantern-sky-2026"


def run(app, *args: str, stdin: str | None = None) -> tuple[int, dict]:
    # The `idp` console (a FlaskGroup) pushes the app context; the test runner does not.
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["person", *args, "--json"], input=stdin)
    return result.exit_code, json.loads(result.output.strip().splitlines()[-1])


def persons(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Person))


def test_counter_registration_with_registry_check_reaches_loa3(app):
    code, body = run(
        app,
        "create",
        "--phone",
        "17000000701",
        "--password",
        PASSWORD,
        "--name",
        ALIVE[0].name,
        "--id-number",
        ALIVE[0].id_number,
    )
    assert code == 0 and body["person"]["loa"] == 3 and body["person"]["name"] == ALIVE[0].name
    assert ALIVE[0].id_number not in json.dumps(body)


def test_counter_registration_refusals_name_the_rule_and_create_nothing(app):
    bad = ALIVE[1].id_number[:-1] + ("1" if ALIVE[1].id_number[-1] != "1" else "2")
    cases = [
        (["--name", ALIVE[1].name, "--id-number", bad], "check_digit"),
        (["--name", "测试某某", "--id-number", ALIVE[1].id_number], "no_match"),
        (["--id-number", ALIVE[1].id_number], "required"),
    ]
    for extra, rule in cases:
        code, body = run(app, "create", "--phone", "17000000702", "--password", PASSWORD, *extra)
        assert code == 1 and body["ok"] is False and body["rule"] == rule, body
    assert persons(app) == 0


def test_id_number_from_stdin(app):
    code, body = run(
        app,
        "create",
        "--phone",
        "17000000703",
        "--password",
        PASSWORD,
        "--name",
        ALIVE[2].name,
        "--id-number",
        "-",
        stdin=ALIVE[2].id_number + "\n",
    )
    assert code == 0 and body["person"]["loa"] == 3


def test_verify_in_person_raises_to_loa5_with_the_operator_in_the_audit_trail(app):
    run(app, "create", "--phone", "17000000704", "--password", PASSWORD)
    code, body = run(
        app,
        "verify-in-person",
        "17000000704",
        "--name",
        ALIVE[3].name,
        "--id-number",
        ALIVE[3].id_number,
        "--operator",
        "C-0042",
    )
    assert code == 0 and body["person"]["loa"] == 5
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.event == "admin:person:verified_in_person")
        )
        assert event.actor == "counter:C-0042" and event.channel == "counter"


def test_verify_in_person_refuses_a_mismatch(app):
    run(app, "create", "--phone", "17000000705", "--password", PASSWORD)
    code, body = run(
        app,
        "verify-in-person",
        "17000000705",
        "--name",
        "测试某某",
        "--id-number",
        ALIVE[4].id_number,
        "--operator",
        "C-0042",
    )
    assert code == 1 and body["rule"] == "no_match"
    with app.app_context():
        person = db.session.scalar(select(Person))
        assert person.loa == 2 and person.id_number_index is None
