"""How `idp` commands refuse: one line on stderr, or one JSON object with --json."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click

from admin.services.errors import AdminError, UnavailableError

# a refusal's exit code: 2 when an outside system did not answer (try again later)
TRY_LATER = 2


def fail(message: str, *, as_json: bool, code: int = 1, **extra: Any) -> NoReturn:
    if as_json:
        click.echo(json.dumps({"ok": False, "error": message, **extra}, ensure_ascii=False))
    else:
        click.echo(f"idp: {message}", err=True)
    sys.exit(code)


def refuse(exc: AdminError, *, as_json: bool, message: str | None = None) -> NoReturn:
    """A service's refusal with the input and rule it names; `message` rewords it in the
    command line's terms (an option's name, the command to run first)."""
    code = TRY_LATER if isinstance(exc, UnavailableError) else 1
    fail(message or exc.message, as_json=as_json, code=code, field=exc.field, rule=exc.rule)
