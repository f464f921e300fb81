"""The `idp` console script: Flask's CLI over `app:create_app`, with clean start-up errors."""

from __future__ import annotations

import os
import sys

import click
from flask.cli import FlaskGroup
from sqlalchemy.exc import InterfaceError, OperationalError

from config import ConfigError
from idp.store.embedded import EmbeddedRedisError

# who the audit trail says acted, for every change made through this command line
ACTOR = "admin:cli"
# an option or argument given as this is read from standard input instead: personal
# numbers and passwords stay out of shell history and the process list
READ_STDIN = "-"

cli = FlaskGroup(
    name="idp",
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    help="Unified identity provider administration.",
)


def main() -> None:
    # A string, not an import: the CLI sits below app.py in the layering.
    os.environ.setdefault("FLASK_APP", "app:create_app")
    try:
        cli.main(prog_name="idp")
    except (ConfigError, EmbeddedRedisError) as exc:
        click.echo(f"idp: configuration error: {exc}", err=True)
        sys.exit(2)
    except (OperationalError, InterfaceError) as exc:
        click.echo(f"idp: database unavailable: {exc.orig or exc}", err=True)
        sys.exit(1)
