"""Audit events: `record_event()` writes one row in the caller's transaction, so an event
and the change it records are committed together or not at all. Rows form an SM3 hash
chain (idp/audit/chain.py) that `verify_chain()` proves whole, anchored outside the
database by signed checkpoints (idp/audit/checkpoint.py, checkpointer.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request
from sqlalchemy.orm import Session

from config import ConfigError, Settings
from idp.audit import chain
from idp.audit.checkpoint import (
    CheckpointKeyError,
    CheckpointKeys,
    CheckpointSigner,
    parse_private_key,
    parse_public_keys,
)
from idp.audit.checkpoint_log import CheckpointLog
from idp.audit.checkpointer import APPENDED, Checkpointer
from idp.audit.events import Event
from idp.audit.models import AuditEvent
from idp.audit.verify import BrokenRow, Problem, VerifyResult, verify_chain
from idp.db import utcnow

__all__ = [
    "AuditEvent",
    "BrokenRow",
    "Checkpointer",
    "Event",
    "Problem",
    "VerifyResult",
    "init_app",
    "record_event",
    "verify_chain",
]


def record_event(
    session: Session,
    event: Event,
    *,
    person_id: str | None = None,
    actor: str | None = None,
    channel: str | None = None,
    session_id: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit row for `event` (subject:object:action). Who, what, when, from where.

    The source address and user agent are `ip` and `user_agent` when given (requests
    answered outside Flask, idp/oidc/machine, pass theirs), else, inside a Flask request,
    that request's; the caller commits. Never put unmasked personal numbers in `detail`.

    The row is INSERTed at once, chained onto the head, whose lock is then held until the
    caller commits or rolls back: other writers of audit rows wait, so call this near the
    end of the transaction. The returned row is a copy of what was written; it is not
    attached to the session.
    """
    if not isinstance(event, Event):  # the catalogue is the only source of names
        raise ValueError(f"not an audit event of idp/audit/events.py: {event!r}")
    if has_request_context():
        ip = ip or request.remote_addr
        user_agent = user_agent or request.user_agent.string
    user_agent = (user_agent or "")[:256] or None
    written = chain.append(
        session,
        {
            "occurred_at": utcnow(),
            "event": event.value,
            "person_id": person_id,
            "actor": actor or (f"person:{person_id}" if person_id else "anonymous"),
            "ip": ip,
            "channel": channel,
            "user_agent": user_agent,
            "session_id": session_id,
            "detail": chain.normalise_detail(detail),
        },
    )
    # Counted for the checkpointer, which acts on it only once the transaction commits.
    session.info[APPENDED] = session.info.get(APPENDED, 0) + 1
    return AuditEvent(**written)


def init_app(app: Flask, settings: Settings) -> Checkpointer:
    """The app's checkpointer: signs with the configured key, verifies with the configured
    public keys (the signing key's when none are), writes where configured."""
    try:
        signer = CheckpointSigner(parse_private_key(settings.audit_checkpoint_key))
    except CheckpointKeyError as exc:
        raise ConfigError(f"IDP_AUDIT_CHECKPOINT_KEY: {exc}") from None
    try:
        trusted = parse_public_keys(settings.audit_checkpoint_public_key)
    except CheckpointKeyError as exc:
        raise ConfigError(f"IDP_AUDIT_CHECKPOINT_PUBLIC_KEY: {exc}") from None
    checkpointer = Checkpointer(
        app.extensions["idp.db"].engine,
        signer,
        CheckpointKeys(trusted or [signer.public]),
        CheckpointLog(Path(settings.audit_checkpoint_dir)),
        every=settings.audit_checkpoint_every,
        interval=settings.audit_checkpoint_interval,
    )
    checkpointer.register()
    app.extensions["idp.audit.checkpointer"] = checkpointer
    return checkpointer
