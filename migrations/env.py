"""Alembic environment: runs on the connection handed over by migrations.runner."""

from __future__ import annotations

from alembic import context

import idp.accounts.models
import idp.audit.models
import idp.authn.devices
import idp.keys.models
import idp.oidc.models  # noqa: F401
import realname.models
import realname.organizations  # noqa: F401
from idp.db import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `idp db upgrade` (migrations.runner)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
