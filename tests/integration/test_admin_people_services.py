"""admin.services.people and .organizations as the console and admin API will call them:
the rules hold without the command line, the audit rows name the actor given, and a
refusal is a typed error after which nothing was written, not even an audit row."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from admin import services
from admin.services.errors import (
    MAX_ACTOR,
    AdminError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    UnavailableError,
)
from connectors import synthetic
from idp import context
from idp.accounts.models import Person
from idp.accounts.throttle import account_key
from idp.audit.models import AuditEvent
from idp.db import db
from idp.errors import TooManyAttemptsError
from realname.organizations import Organization

DATA = synthetic.generate()
ALIVE = DATA.persons_with("alive")
ACTIVE = DATA.enterprises_with("active")
BY_NUMBER = {p.id_number: p for p in DATA.persons}
REPS = {e.legal_rep_id_number for e in DATA.enterprises}
NOT_REPS = [p for p in ALIVE if p.id_number not in REPS]
PASSWORD = "willow-ferry-2026"
ACTOR = "admin:console-zhang"


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


def count(model: Any) -> int:
    with db.database.factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def rows(event: str) -> list[AuditEvent]:
    with db.database.factory() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event == event)))


def counter_person(phone: str, who: synthetic.SyntheticPerson | None = None, **kw: Any) -> Person:
    with db.transaction() as session:
        return services.people().register_at_counter(
            session,
            actor=ACTOR,
            phone=phone,
            password=PASSWORD,
            name=who.name if who else None,
            id_number=who.id_number if who else None,
            **kw,
        )


def refused(call: Callable[[], object], kind: type[AdminError]) -> AdminError:
    """`call` raises `kind` and leaves no person, organisation or audit row behind."""
    before = (count(Person), count(Organization), count(AuditEvent))
    with pytest.raises(kind) as caught:
        call()
    assert (count(Person), count(Organization), count(AuditEvent)) == before
    return caught.value


# -- people ------------------------------------------------------------------------------
def test_counter_registration_names_the_actor_and_reaches_real_name(ctx):
    person = counter_person("17000001001", ALIVE[0])
    assert person.loa == 3 and person.phone_verified and person.name == ALIVE[0].name
    created = rows("admin:person:created")
    assert [(r.actor, r.channel, r.person_id) for r in created] == [(ACTOR, "counter", person.id)]
    assert created[0].detail == {"loa": 3}
    assert [r.person_id for r in rows("person:realname:verified")] == [person.id]


def test_counter_registration_refusals_change_nothing(ctx):
    counter_person("17000001002", ALIVE[1], username="taken")
    other = ALIVE[2]
    cases: list[tuple[dict[str, Any], type[AdminError], str, str]] = [
        ({"phone": "2700000100"}, InvalidInputError, "phone", "format"),
        ({"phone": "17000001002"}, ConflictError, "phone", "exists"),
        ({"username": "TAKEN"}, ConflictError, "username", "exists"),
        ({"password": "password123"}, InvalidInputError, "password", "common"),
        ({"id_number": other.id_number}, InvalidInputError, "name", "required"),
        ({"name": "测试某某", "id_number": other.id_number}, InvalidInputError,
         "id_number", "no_match"),
        # the registry says yes, but the identity is another account's
        ({"name": ALIVE[1].name, "id_number": ALIVE[1].id_number}, ConflictError,
         "id_number", "identity_taken"),
        ({"actor": ""}, InvalidInputError, "actor", "format"),
        ({"actor": "a" * (MAX_ACTOR + 1)}, InvalidInputError, "actor", "format"),
        ({"actor": "admin:x\nadmin:root"}, InvalidInputError, "actor", "format"),
    ]  # fmt: skip
    for overrides, kind, field, rule in cases:
        arguments = {"actor": ACTOR, "phone": "17000001003", "password": PASSWORD, **overrides}

        def register(arguments: dict[str, Any] = arguments) -> None:
            with db.transaction() as session:
                services.people().register_at_counter(session, **arguments)

        error = refused(register, kind)
        assert (error.field, error.rule) == (field, rule), overrides
        assert other.id_number not in error.message and "17000001003" not in error.message


def test_a_registry_that_does_not_answer_is_try_later_and_creates_no_one(ctx):
    context.connectors().population.available = False
    try:
        error = refused(lambda: counter_person("17000001004", ALIVE[3]), UnavailableError)
    finally:
        context.connectors().population.available = True
    assert error.status == 503 and error.rule == "unavailable"


def test_verify_in_person_reaches_level_5_with_the_actor_in_the_trail(ctx):
    person = counter_person("17000001005")
    with db.transaction() as session:
        verified = services.people().verify_in_person(
            session,
            "17000001005",
            actor="counter:C-0042",
            name=ALIVE[4].name,
            id_number=ALIVE[4].id_number,
        )
    assert verified.id == person.id and verified.loa == 5
    [row] = rows("admin:person:verified_in_person")
    assert (row.actor, row.channel, row.person_id, row.detail) == (
        "counter:C-0042",
        "counter",
        person.id,
        {"loa": 5},
    )


def test_verify_in_person_refusals_leave_the_person_as_they_were(ctx):
    counter_person("17000001006")

    def verify(account: str, name: str) -> None:
        with db.transaction() as session:
            services.people().verify_in_person(
                session, account, actor="counter:C-0042", name=name, id_number=ALIVE[5].id_number
            )

    missing = refused(lambda: verify("17000009999", ALIVE[5].name), NotFoundError)
    assert (missing.field, missing.rule, missing.status) == ("account", "unknown", 404)
    mismatch = refused(lambda: verify("17000001006", "测试某某"), InvalidInputError)
    assert mismatch.rule == "no_match"
    with db.database.factory() as session:
        person = context.accounts().find_by_login(session, "17000001006")
        assert person is not None and person.loa == 2 and person.id_number_index is None
    assert rows("person:realname:refused") == []  # rolled back with the refusal


def test_unlock_lifts_the_block_and_names_the_actor(make_app):
    app = make_app(login_max_failures=3)
    with app.app_context():
        person = counter_person("17000001007", username="carol")
        throttle = context.login_throttle()
        key = account_key(person.id, "carol")
        for _ in range(3):
            throttle.attempt(key, "203.0.113.9")
        with pytest.raises(TooManyAttemptsError):
            throttle.attempt(key, "203.0.113.9")

        def unlock(identifier: str) -> None:
            with db.transaction() as session:
                services.people().unlock(session, identifier, actor=ACTOR)

        refused(lambda: unlock("nobody-here"), NotFoundError)
        assert rows("admin:person:unlocked") == []
        unlock("carol")
        throttle.attempt(key, "203.0.113.10")  # may try again
        [row] = rows("admin:person:unlocked")
        assert (row.actor, row.person_id) == (ACTOR, person.id)


# -- organisations -------------------------------------------------------------------------
def register_org(enterprise: synthetic.SyntheticEnterprise, **overrides: str) -> Any:
    arguments = {
        "actor": ACTOR,
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "legal_rep_id_number": enterprise.legal_rep_id_number,
        **overrides,
    }
    with db.transaction() as session:
        return services.organizations().register_at_counter(session, **arguments)


def test_counter_registration_of_an_organisation_names_the_actor(ctx):
    enterprise = ACTIVE[0]
    rep = counter_person("17000001010", BY_NUMBER[enterprise.legal_rep_id_number])
    registered = register_org(enterprise)
    assert registered.organization.uscc == enterprise.uscc
    assert registered.legal_representative.id == rep.id
    assert enterprise.legal_rep_id_number not in registered.masked_id_number
    [row] = rows("person:organization:registered")
    assert (row.actor, row.channel, row.person_id) == (ACTOR, "counter", rep.id)
    with db.database.factory() as session:
        listed = services.organizations().list_with_legal_representatives(session)
        assert [(o.uscc, p.id if p else None) for o, p in listed] == [(enterprise.uscc, rep.id)]
    again = refused(lambda: register_org(enterprise), ConflictError)
    assert again.rule == "already_registered" and again.status == 409


def test_organisation_refusals_change_nothing(ctx):
    enterprise = ACTIVE[1]
    counter_person("17000001011", BY_NUMBER[enterprise.legal_rep_id_number])
    counter_person("17000001012", NOT_REPS[0])
    typo = enterprise.uscc[:-1] + ("1" if enterprise.uscc[-1] != "1" else "2")
    cases: list[tuple[dict[str, str], type[AdminError], str, str]] = [
        ({"uscc": typo}, InvalidInputError, "uscc", "check_digit"),
        ({"name": "演示某某有限公司"}, InvalidInputError, "name", "name_mismatch"),
        ({"legal_rep_id_number": NOT_REPS[0].id_number}, InvalidInputError,
         "legal_rep_id_number", "not_legal_representative"),
        ({"legal_rep_id_number": NOT_REPS[1].id_number}, InvalidInputError,
         "legal_rep_id_number", "legal_representative_not_registered"),
        ({"actor": " "}, InvalidInputError, "actor", "format"),
    ]  # fmt: skip
    for overrides, kind, field, rule in cases:
        error = refused(lambda overrides=overrides: register_org(enterprise, **overrides), kind)
        assert (error.field, error.rule) == (field, rule), overrides
        assert NOT_REPS[1].id_number not in error.message


def test_an_enterprise_registry_outage_is_try_later(ctx):
    enterprise = ACTIVE[2]
    counter_person("17000001013", BY_NUMBER[enterprise.legal_rep_id_number])
    context.connectors().enterprise.available = False
    try:
        error = refused(lambda: register_org(enterprise), UnavailableError)
    finally:
        context.connectors().enterprise.available = True
    assert error.rule == "registry_unavailable"
