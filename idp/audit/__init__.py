"""Audit events: `record_event()` writes one row in the caller's transaction, so an event
and the change it records are committed together or not at all."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy.orm import Session

from idp.audit.models import AuditEvent

__all__ = ["AuditEvent", "record_event"]


def record_event(
    session: Session,
    event: str,
    *,
    person_id: str | None = None,
    actor: str | None = None,
    channel: str | None = None,
    session_id: str | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit row for `event` (subject:object:action). Who, what, when, from where.

    Inside a request the source address and user agent are taken from it; the caller
    commits. Never put unmasked personal numbers in `detail`.
    """
    if event.count(":") != 2:
        raise ValueError(f"audit event names are subject:object:action, got {event!r}")
    user_agent = None
    if has_request_context():
        ip = ip or request.remote_addr
        user_agent = (request.user_agent.string or "")[:256] or None
    row = AuditEvent(
        event=event,
        person_id=person_id,
        actor=actor or (f"person:{person_id}" if person_id else "anonymous"),
        ip=ip,
        channel=channel,
        user_agent=user_agent,
        session_id=session_id,
        detail=detail or {},
    )
    session.add(row)
    return row
