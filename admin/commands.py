"""`idp` subcommands: db, serve, demo; and the registration of every other group."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from admin import services
from admin.output import fail
from admin.services.demo import DEMO, sms_outbox
from admin.services.errors import AdminError
from idp import context
from idp.db import db
from idp.errors import StoreUnavailableError
from idp.store import embedded as embedded_redis
from migrations import runner

DEMO_ACTOR = "admin:demo"


# -- db ---------------------------------------------------------------------------------
@click.group("db", help="Database schema migrations.")
def db_group() -> None:
    pass


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Bring the schema up to REVISION (default: the newest)."""
    try:
        runner.upgrade(db.engine, revision)
    except SQLAlchemyError as exc:
        fail(
            f"database unavailable: {exc.__class__.__name__}: {exc.orig or exc}"
            if hasattr(exc, "orig")
            else f"database error: {exc}",
            as_json=False,
        )
    # First start: RS256 + ES256 keys; after a restore, keys for what clients ask for too.
    if runner.current(db.engine) == runner.head():
        with db.database.factory() as session:
            services.keys().ensure_in_use(session)
    else:
        services.keys().ensure_in_use(None)
    if runner.current(db.engine) == runner.head():
        app_id = context.settings().app_client_id
        if services.clients().ensure_official_app(app_id) is not None:
            click.echo(f"registered the official app as client {app_id}", err=True)
    click.echo(f"database at revision {runner.current(db.engine)}")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Take the schema back to REVISION (`base` removes every table)."""
    runner.downgrade(db.engine, revision)
    click.echo(f"database at revision {runner.current(db.engine) or 'base'}")


@db_group.command("current")
def db_current() -> None:
    click.echo(runner.current(db.engine) or "base")


# -- serve ------------------------------------------------------------------------------
def check_ready() -> list[str]:
    """What keeps the provider from serving, in words an operator can act on."""
    problems = []
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if runner.current(db.engine) != runner.head():
            problems.append("the database schema is not current: run `idp db upgrade`")
    except SQLAlchemyError as exc:
        problems.append(f"the database does not answer ({exc.__class__.__name__})")
    try:
        context.store().ping()
    except StoreUnavailableError:
        problems.append(f"Redis does not answer at {context.settings().redis_url}")
    return problems


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Python threads per worker (argon2 releases the GIL while hashing).",
)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the provider with granian (WSGI): N worker processes, M threads each.

    Measured here on GET /login, 2 workers, 32 connections: granian 3,459 req/s,
    gunicorn gthread 1,952, gunicorn sync 1,506. `make bench` has the full picture.
    """
    problems = check_ready()
    if problems:
        if context.settings().embedded_redis:  # check_ready started it; leave nothing behind
            embedded_redis.stop(context.settings().instance_path)
        fail("cannot start: " + "; ".join(problems), as_json=False, code=2)
    settings = context.settings()
    env = dict(os.environ, IDP_INSTANCE_DIR=settings.instance_dir)
    # No --backpressure: granian applies it to open connections, not requests, so a small
    # value leaves keep-alive clients past the limit unanswered (make bench found it).
    cmd = [sys.executable, "-m", "granian", "--interface", "wsgi", "--factory",
           "--host", host, "--port", str(port), "--workers", str(workers),
           "--blocking-threads", str(threads),
           # a worker still starting ignores SIGTERM; without this stop can hang forever
           "--workers-kill-timeout", "10",
           "--no-ws", "--log-level", "warning", "app:create_app"]  # fmt: skip
    click.echo(f"serving {settings.issuer} on http://{host}:{port} with {workers} workers")
    proc = subprocess.Popen(cmd, env=env, cwd=Path(__file__).parents[1])  # noqa: S603
    # SIGTERM takes the same bounded path as Ctrl-C: terminate, wait 20 s, then kill.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    finally:
        if settings.embedded_redis:
            embedded_redis.stop(settings.instance_path)
    sys.exit(code)


# -- demo -------------------------------------------------------------------------------
@click.group("demo", help="Demonstration data (synthetic).")
def demo_group() -> None:
    pass


@demo_group.command("seed")
@click.option(
    "--rp-url",
    default="http://127.0.0.1:8001",
    show_default=True,
    help="Where the demo relying party runs.",
)
@click.option("--json", "as_json", is_flag=True)
def demo_seed(rp_url: str, as_json: bool) -> None:
    """Create the demo person if missing. Idempotent."""
    seeded = services.demo().seed(actor=DEMO_ACTOR, rp_url=rp_url)
    created = seeded.person_created
    summary = {
        "demo_rp": seeded.demo_rp,
        "created": created,
        "username": DEMO["username"],
        "password": DEMO["password"],
        "phone": DEMO["phone"],
        "login_url": f"{context.settings().issuer}/login",
    }
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        click.echo(
            f"demo person {'created' if created else 'present'}: sign in at "
            f"{summary['login_url']} as {DEMO['username']} / {DEMO['password']}"
        )


@demo_group.command("sms")
@click.argument("phone", required=False)
@click.option("--phone", "only", metavar="NUMBER", help="Only the messages to this number.")
def demo_sms(phone: str | None, only: str | None) -> None:
    """Show the text messages the demo SMS gateway "delivered", newest first: to every
    number (each line starts with it), or to PHONE (or --phone NUMBER) only."""
    if phone and only and phone.strip() != only.strip():
        raise click.UsageError("give the number once: PHONE or --phone NUMBER")
    number = (only or phone or "").strip()
    try:
        messages = sms_outbox(context.connectors().sms, number)
    except AdminError as exc:
        fail(exc.message, as_json=False)
    if not messages:
        click.echo("no messages")
    # The outbox lists the oldest first: the newest (the code just asked for) goes on top.
    for message in sorted(reversed(messages), key=lambda m: -m.sent_at):
        click.echo(message.text if number else f"{message.phone}  {message.text}")


def register(app: Flask) -> None:
    from admin.accounts_cli import accounts_group
    from admin.audit_cli import audit_group
    from admin.clients_cli import client_group
    from admin.id_cli import id_group
    from admin.keys_cli import keys_group
    from admin.org_cli import org_group
    from admin.person_cli import person_group

    commands = (
        db_group,
        serve,
        person_group,
        demo_group,
        keys_group,
        client_group,
        id_group,
        org_group,
        audit_group,
        accounts_group,
    )
    for command in commands:
        app.cli.add_command(command)
