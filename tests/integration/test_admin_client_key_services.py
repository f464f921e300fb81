"""admin.services.clients, .keys, .demo and .audit as the console and admin API will call
them: the actor given is the one the audit trail names, and a refusal is a typed error
that leaves no client, no key and no audit row behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from admin import services
from admin.services.demo import DEMO, sms_outbox
from admin.services.errors import (
    MAX_ACTOR,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from idp import context
from idp.audit.models import AuditEvent
from idp.db import db
from idp.keys.models import SigningKey
from idp.oidc.models import Client

ACTOR = "admin:console-li"
RP = {"name": "社保查询", "redirect_uris": ["https://rp.example.test/cb"]}


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


def key_algs() -> set[str]:
    with db.database.factory() as session:
        return set(session.scalars(select(SigningKey.alg)))


def test_the_actor_limit_is_the_audit_column(ctx):
    assert AuditEvent.__table__.c.actor.type.length == MAX_ACTOR


# -- clients -----------------------------------------------------------------------------
def test_registering_a_client_names_the_actor_and_makes_its_keys(ctx):
    assert "EdDSA" not in key_algs()
    new = services.clients().register(actor=ACTOR, access_token_signed_alg="EdDSA", **RP)
    assert new.secret and new.client.access_token_signed_alg == "EdDSA"
    assert "EdDSA" in key_algs()
    [row] = rows("admin:client:created")
    assert (row.actor, row.channel, row.detail) == (
        ACTOR,
        "admin",
        {"client_id": new.client.client_id},
    )
    assert [c.client_id for c in services.clients().list_clients()] == [new.client.client_id]


@pytest.mark.parametrize(
    ("metadata", "kind", "field"),
    [
        ({"scopes": ["openid", "no-such-scope"]}, InvalidInputError, "scope"),
        ({"redirect_uris": []}, InvalidInputError, "redirect_uris"),
        ({"client_id": "社保系统"}, InvalidInputError, "client_id"),
        ({"resource_servers": ["no-such-client"]}, InvalidInputError, "resource_servers"),
        ({"actor": ""}, InvalidInputError, "actor"),
    ],
)
def test_a_refused_client_leaves_no_client_no_row_and_no_key(ctx, metadata, kind, field):
    algs, before = key_algs(), count(AuditEvent)
    arguments = {"actor": ACTOR, **RP, "access_token_signed_alg": "SM2SM3", **metadata}
    with pytest.raises(kind) as caught:
        services.clients().register(**arguments)
    assert caught.value.field == field
    assert count(Client) == 0 and count(AuditEvent) == before
    assert key_algs() == algs  # no SM2SM3 key for a client that was never registered


def test_a_chosen_client_id_registers_once(ctx):
    services.clients().register(actor=ACTOR, client_id="shebao", **RP)
    before = count(AuditEvent)
    with pytest.raises(ConflictError) as caught:
        services.clients().register(actor=ACTOR, client_id="shebao", **RP)
    assert (caught.value.field, caught.value.rule, caught.value.status) == (
        "client_id",
        "exists",
        409,
    )
    assert count(Client) == 1 and count(AuditEvent) == before


# -- keys --------------------------------------------------------------------------------
def test_rotating_and_retiring_keys_name_the_actor(ctx):
    keys = services.keys()
    first = keys.rotate("ES256", actor=ACTOR)
    second = keys.rotate("ES256", actor=ACTOR)
    assert second.previous == first.kid
    retired = keys.retire(first.kid, actor=ACTOR)
    assert retired.state == "retired"
    rotated = rows("admin:key:rotated")
    assert [(r.actor, r.detail["kid"]) for r in rotated] == [
        (ACTOR, first.kid),
        (ACTOR, second.kid),
    ]
    [row] = rows("admin:key:retired")
    assert (row.actor, row.detail) == (ACTOR, {"kid": first.kid, "alg": "ES256"})


def test_key_refusals_change_nothing(ctx):
    keys = services.keys()
    active = keys.rotate("ES256", actor=ACTOR)
    listed, before = keys.list_keys(), count(AuditEvent)
    with pytest.raises(InvalidInputError):
        keys.rotate("HS256", actor=ACTOR)
    with pytest.raises(InvalidInputError):
        keys.rotate("ES256", actor="")
    with pytest.raises(NotFoundError):
        keys.retire("no-such-kid", actor=ACTOR)
    with pytest.raises(ConflictError) as caught:
        keys.retire(active.kid, actor=ACTOR)  # the active key is rotated out first
    assert "rotate" in caught.value.message
    assert keys.list_keys() == listed and count(AuditEvent) == before


# -- demo data and the audit trail -----------------------------------------------------------
def test_demo_seeding_is_idempotent_and_audited_as_its_actor(ctx):
    demo = services.demo()
    first = demo.seed(actor="admin:demo", rp_url="http://127.0.0.1:8001/")
    second = demo.seed(actor="admin:demo", rp_url="http://127.0.0.1:8001")
    assert (first.person_created, first.demo_rp) == (True, "created")
    assert (second.person_created, second.demo_rp) == (False, "present")
    assert [r.actor for r in rows("admin:person:created")] == ["admin:demo"]
    assert [r.actor for r in rows("admin:client:created")] == ["admin:demo"]
    moved = demo.seed(actor="admin:demo", rp_url="http://127.0.0.1:8002")
    assert moved.demo_rp == "created" and count(Client) == 1
    assert rows("admin:client:created")[-1].detail["replaced"] is True
    assert sms_outbox(context.connectors().sms, DEMO["phone"]) == []  # seeding sent none


def test_a_gateway_without_an_outbox_is_refused(ctx):
    class RealGateway:
        def send(self, *args: object) -> None: ...

    with pytest.raises(InvalidInputError) as caught:
        sms_outbox(RealGateway(), "17000000001")  # type: ignore[arg-type]
    assert caught.value.rule == "no_outbox"


def test_the_trail_verifies_whole_after_admin_actions(ctx):
    services.clients().register(actor=ACTOR, **RP)
    services.keys().rotate("RS256", actor=ACTOR)
    trail = services.audit_trail()
    check = trail.verify()
    assert check.ok and check.result.checked == count(AuditEvent) == 2
    newest = trail.newest(1)
    assert [(e["event"], e["actor"]) for e in newest] == [("admin:key:rotated", ACTOR)]
