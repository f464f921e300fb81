"""Administration as services: each rule an administrator's action must follow, its
audit row and its refusals (`errors.AdminError`), in one place that the `idp` command
line calls now and the console and admin API will call too. Front ends parse and print;
they hold no rule.

Each service is built from the app's parts by the functions below (inside an app
context); every action takes the `actor` its audit row names ("admin:cli",
"admin:<username>", "counter:<staff id>").
"""

from __future__ import annotations

from typing import cast

from flask import current_app

from admin.services.audit import AuditTrail
from admin.services.clients import ClientAdmin
from admin.services.demo import DemoData
from admin.services.keys import KeyAdmin
from admin.services.organizations import OrganizationAdmin
from admin.services.people import PersonAdmin
from idp import context
from idp.audit import Checkpointer
from idp.db import db
from idp.keys import KeyRing


def people() -> PersonAdmin:
    return PersonAdmin(
        context.accounts(), context.connectors().population, context.login_throttle()
    )


def organizations() -> OrganizationAdmin:
    return OrganizationAdmin(context.accounts(), context.connectors().enterprise)


def clients() -> ClientAdmin:
    return ClientAdmin(db.database.factory, _keyring())


def keys() -> KeyAdmin:
    return KeyAdmin(_keyring())


def demo() -> DemoData:
    settings = context.settings()
    return DemoData(
        context.accounts(), db.database.factory, settings.issuer, settings.instance_path
    )


def audit_trail() -> AuditTrail:
    checkpointer = cast(Checkpointer, current_app.extensions["idp.audit.checkpointer"])
    return AuditTrail(db.database.factory, checkpointer)


def _keyring() -> KeyRing:
    return cast(KeyRing, current_app.extensions["idp.keys"])
