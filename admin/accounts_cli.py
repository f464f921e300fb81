"""`idp accounts …`: what runs on a schedule for people's accounts.

`idp accounts close-due` closes every account whose cooling-off period has ended
(idp/flows/close_account.py). Production runs it from cron, e.g. hourly:

    17 * * * *  idp accounts close-due --json >> /var/log/idp/close-due.log

It is safe to run on several nodes at once or twice in a row: an account is closed once
(the second run finds it closed). Back-channel logout notices go out before it exits."""

from __future__ import annotations

import json
from datetime import datetime

import click
from flask.cli import with_appcontext

from idp.flows import close_account
from idp.oidc import backchannel

NOTICE_WAIT = 30.0  # seconds to let back-channel logout deliveries finish


@click.group("accounts", help="People's accounts: scheduled work (closures).")
def accounts_group() -> None:
    pass


@accounts_group.command("close-due")
@click.option(
    "--now",
    "now",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z"]),
    default=None,
    help="Close as if it were this moment (ISO 8601 with offset; for checks and tests).",
)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def close_due(now: datetime | None, as_json: bool) -> None:
    """Close the accounts whose closure is due."""
    closed = close_account.close_due(now)
    delivered = backchannel.wait_idle(NOTICE_WAIT)
    if as_json:
        click.echo(json.dumps({"ok": True, "closed": closed, "notices_sent": delivered}))
    else:
        click.echo(f"closed {len(closed)} account(s)")
