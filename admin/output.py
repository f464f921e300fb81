"""How `idp` commands refuse: one line on stderr, or one JSON object with --json."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click


def fail(message: str, *, as_json: bool, code: int = 1, **extra: Any) -> NoReturn:
    if as_json:
        click.echo(json.dumps({"ok": False, "error": message, **extra}, ensure_ascii=False))
    else:
        click.echo(f"idp: {message}", err=True)
    sys.exit(code)
