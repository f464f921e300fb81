"""Helpers for the account-life tests: posting the account centre's forms, reading the
audit trail and the SMS outbox."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from idp import context
from idp.accounts.models import Person
from idp.audit.models import AuditEvent
from idp.db import db
from tests.helpers import csrf_token

OTHER = {"username": "bob", "phone": "17000000202", "password": "harbour-lantern-5531"}


def post(client: Any, path: str, page: str = "/account", **data: str) -> Any:
    """Post a form as the page at `page` would, with its CSRF token."""
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def audit(app: Any, event: str, person_id: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.event == event)
        if person_id:
            query = query.where(AuditEvent.person_id == person_id)
        return list(db.session.scalars(query.order_by(AuditEvent.seq)))


def texts(app: Any, phone: str) -> list[str]:
    with app.app_context():
        return [m.text for m in context.connectors().sms.outbox(phone)]


def last_code(app: Any, phone: str) -> str:
    found = re.search(r"验证码(\d{6})", texts(app, phone)[-1])
    assert found, texts(app, phone)
    return found.group(1)


def person_row(app: Any, person_id: str) -> Person:
    with app.app_context():
        found = db.session.get(Person, person_id)
        assert found is not None
        db.session.expunge(found)
        return found


def make_person(app: Any, **data: str) -> str:
    with app.app_context(), db.transaction() as session:
        return context.accounts().create_person(session, **data).id


def phone_of(app: Any, person_id: str) -> str | None:
    with app.app_context():
        person = db.session.get(Person, person_id)
        return context.accounts().phone(person) if person else None
