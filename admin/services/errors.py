"""Why an administrative action was refused, as one small hierarchy that every front end
(the `idp` command line now, the console and the admin API later) turns into its own
format: a one-line error and an exit code, or an `application/problem+json` body.

A refusal means the action changed nothing: the service raises before it writes, or in
the caller's transaction, which the caller rolls back (`db.transaction()` does).
"""

from __future__ import annotations

from typing import ClassVar

MAX_ACTOR = 80  # audit_events.actor: a longer actor is refused, not silently cut


class AdminError(Exception):
    """An action refused. `message` is one line an administrator can act on; `field` names
    the input it is about and `rule` the rule it broke, for forms and scripts; `status`
    is the HTTP status the admin API answers with, so no front end has to guess."""

    status: ClassVar[int] = 400

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule


class InvalidInputError(AdminError):
    """The input breaks a rule, or does not match what a registry holds."""

    status = 422


class NotFoundError(AdminError):
    """The account, key or record the action is about does not exist."""

    status = 404


class ConflictError(AdminError):
    """The action clashes with what is already there (registered, active, retired …)."""

    status = 409


class UnavailableError(AdminError):
    """An outside system (a registry) did not answer: nothing changed, try again later."""

    status = 503


def check_actor(actor: str) -> str:
    """Every admin action names who did it in the audit trail; an empty or over-long
    actor would make that row say nothing, or less than was meant."""
    if not actor.strip() or len(actor) > MAX_ACTOR or not actor.isprintable():
        raise InvalidInputError(
            f"invalid actor: 1 to {MAX_ACTOR} printable characters", field="actor", rule="format"
        )
    return actor
