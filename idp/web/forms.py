"""A refused form, kept for the one page after its redirect (POST/redirect/GET).

Every POST answers with a redirect, so a refused form cannot be drawn again by the POST
itself: `refuse()` keeps the messages (per field, or for the whole form) and what the
person typed, and the GET that follows draws them with `refused()`. The typed values may
be an ID number or a phone number: they are kept in Redis for a few minutes, and the
browser's cookie holds only a random reference. Secrets (passwords, codes) are never
kept: the person types them again.

Templates draw the form with the macros of `forms.html`: the messages at the top of the
form and next to each field, the fields marked `aria-invalid` and described by their
message, and the first field in error focused.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import session

from idp import context

KIND = "form-refused"
TTL = 300
SESSION_KEY = "form_refused"
WHOLE_FORM = ""  # a message about the form, not one field
# Never kept, whatever the form calls them: the person types them again.
SECRET_WORDS = ("password", "code", "csrf", "secret", "token")
MAX_VALUE = 256


@dataclass(frozen=True)
class FormState:
    """What a form shows: messages by field name (WHOLE_FORM for the form), typed values."""

    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)

    def value(self, name: str, default: str | None = "") -> str:
        return self.values.get(name, default or "")

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    @property
    def first_invalid(self) -> str | None:
        """The field to focus: the first one (in the order the messages were given)."""
        return next((name for name in self.errors if name != WHOLE_FORM), None)

    def __bool__(self) -> bool:
        return bool(self.errors)


EMPTY = FormState()


def _kept(name: str) -> bool:
    lowered = name.lower()
    return not any(word in lowered for word in SECRET_WORDS)


def refuse(form: str, errors: Mapping[str, str], typed: Mapping[str, str]) -> None:
    """Keep `errors` (field name -> message; WHOLE_FORM for the form) and what was typed
    (secrets left out) for the next page that draws `form` in this browser."""
    values = {
        name: str(value)[:MAX_VALUE]
        for name, value in typed.items()
        if _kept(name) and isinstance(value, str)
    }
    reference = secrets.token_urlsafe(16)
    context.store().upsert(
        KIND, reference, {"form": form, "errors": dict(errors), "values": values}, TTL
    )
    session[SESSION_KEY] = reference


def refused(form: str) -> FormState:
    """The messages and typed values kept for `form`, once; EMPTY if there are none (or
    they were kept for another form: that one's page was left, and they are dropped)."""
    reference = session.get(SESSION_KEY)
    if not isinstance(reference, str):
        return EMPTY
    session.pop(SESSION_KEY, None)
    kept = context.store().consume(KIND, reference)
    if not kept or kept.get("form") != form:
        return EMPTY
    return FormState(errors=dict(kept["errors"]), values=dict(kept["values"]))


def refused_among(*names: str) -> dict[str, FormState]:
    """For a page with several forms: each form's kept messages and values (EMPTY for all
    but the one refused), read once."""
    reference = session.pop(SESSION_KEY, None)
    kept = context.store().consume(KIND, reference) if isinstance(reference, str) else None
    return {
        name: FormState(errors=dict(kept["errors"]), values=dict(kept["values"]))
        if kept and kept.get("form") == name
        else EMPTY
        for name in names
    }
