"""`idp keys list`, `rotate` and `retire`: what an operator sees, and the audit trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from admin.keys_cli import keys_group
from app import create_app
from idp import keys
from idp.audit.models import AuditEvent
from migrations import runner


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    flask_app = create_app({"instance_dir": str(tmp_path / "instance")})
    runner.upgrade(flask_app.extensions["idp.db"].engine)
    keys.init_app(flask_app, flask_app.extensions["idp.settings"])
    if "keys" not in flask_app.cli.commands:
        flask_app.cli.add_command(keys_group)
    yield flask_app
    flask_app.extensions["idp.db"].engine.dispose()


def run(app: Flask, *args: str) -> tuple[int, str]:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["keys", *args])
    return result.exit_code, result.output


def test_rotating_from_the_command_line_is_audited_and_keeps_the_old_key_published(
    app: Flask,
) -> None:
    code, out = run(app, "list", "--json")
    assert code == 0 and json.loads(out) == {"ok": True, "keys": []}

    code, out = run(app, "rotate", "--alg", "ES256", "--json")
    first = json.loads(out)
    assert code == 0 and first["ok"] and first["previous"] is None
    code, out = run(app, "rotate", "--alg", "ES256", "--json")
    second = json.loads(out)
    assert code == 0 and second["previous"] == first["kid"] and second["kid"] != first["kid"]
    assert second["kid"] == first["next"]  # the key published beforehand took over

    keyring = app.extensions["idp.keys"]
    assert {first["kid"], second["kid"]} <= {k["kid"] for k in keyring.jwks()["keys"]}
    code, out = run(app, "list")
    assert code == 0
    lines = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert lines[first["kid"]][1:3] == ["ES256", "retiring"]
    assert lines[second["kid"]][1:3] == ["ES256", "active"]
    assert lines[second["next"]][1:3] == ["ES256", "next"]

    with app.app_context():
        database = app.extensions["idp.db"]
        with database.factory() as session:
            events = session.scalars(
                select(AuditEvent).where(AuditEvent.event == "admin:key:rotated")
            ).all()
    assert [(e.actor, e.channel) for e in events] == [("admin:cli", "admin")] * 2
    assert events[1].detail["alg"] == "ES256"
    assert events[1].detail["kid"] == second["kid"]
    assert events[1].detail["previous"] == first["kid"]


def test_rotating_an_unknown_algorithm_changes_nothing(app: Flask) -> None:
    code, out = run(app, "rotate", "--alg", "HS256")
    assert code == 2 and "HS256" in out
    code, out = run(app, "rotate", "--alg", "none", "--json")
    assert code == 2
    assert json.loads(run(app, "list", "--json")[1])["keys"] == []
    with app.extensions["idp.db"].factory() as session:
        assert session.scalars(select(AuditEvent)).all() == []


def test_human_readable_output(app: Flask) -> None:
    code, out = run(app, "rotate", "--alg", "EdDSA")
    assert code == 0 and out.startswith("EdDSA: new active key ")
    assert "is published as next" in out
    code, out = run(app, "list")
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["kid", "alg", "state"]
    assert sorted(row.split()[1] + " " + row.split()[2] for row in rows) == [
        "EdDSA active",
        "EdDSA next",
    ]
    assert all(row.split()[-1] == "-" for row in rows)  # nothing retired yet


def test_retiring_a_key_by_hand_is_audited_and_refused_for_the_active_key(app: Flask) -> None:
    first = json.loads(run(app, "rotate", "--alg", "ES256", "--json")[1])
    second = json.loads(run(app, "rotate", "--alg", "ES256", "--json")[1])
    code, out = run(app, "retire", "--kid", second["kid"])
    assert code == 1 and "idp keys rotate --alg ES256" in out  # the active key
    code, out = run(app, "retire", "--kid", "-no-such-kid", "--json")  # kids may start with -
    assert code == 1 and json.loads(out)["ok"] is False
    code, out = run(app, "retire", "--kid", first["kid"])
    assert (
        code == 0 and out == f"ES256: {first['kid']} retired; tokens it signed no longer verify\n"
    )
    assert first["kid"] not in {k["kid"] for k in app.extensions["idp.keys"].jwks()["keys"]}
    code, out = run(app, "retire", "--kid", first["kid"], "--json")
    assert code == 1 and "already retired" in json.loads(out)["error"]
    with app.extensions["idp.db"].factory() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.event == "admin:key:retired")
        ).all()
    assert [e.detail for e in events] == [{"kid": first["kid"], "alg": "ES256"}]
