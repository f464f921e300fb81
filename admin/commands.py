"""`idp` subcommands: db, serve, person, demo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from admin.output import fail
from idp import context
from idp.audit import record_event
from idp.audit.events import Event
from idp.db import db
from idp.errors import StoreUnavailableError
from idp.keys import DEFAULT_ALGS
from idp.oidc.clients import signing_algs_in_use
from idp.store import embedded as embedded_redis
from migrations import runner

READ_STDIN = "-"
DEMO = {
    "username": "demo",
    "phone": "17000000001",
    "password": "lotus-pond-2026",
    "name": "演示用户",
}


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
    in_use: set[str] = set()
    if runner.current(db.engine) == runner.head():
        with db.database.factory() as session:
            in_use = signing_algs_in_use(session)
    current_app.extensions["idp.keys"].ensure_keys([*DEFAULT_ALGS, *sorted(in_use)])
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
    accounts = context.accounts()
    with db.transaction() as session:
        person = accounts.find_by_login(session, DEMO["username"])
        created = person is None
        if person is None:
            person = accounts.create_person(session, **DEMO)
            record_event(
                session,
                Event.person_created,
                person_id=person.id,
                actor="admin:demo",
                channel="admin",
            )
    demo_rp = _seed_demo_rp(rp_url.rstrip("/"))
    summary = {
        "demo_rp": demo_rp,
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
@click.argument("phone")
def demo_sms(phone: str) -> None:
    """Show the text messages the demo SMS gateway "delivered" to PHONE (its outbox)."""
    from connectors.errors import ConnectorError
    from connectors.sms import SmsOutbox

    gateway = context.connectors().sms
    if not isinstance(gateway, SmsOutbox):
        fail("this SMS gateway has no outbox (a real gateway delivers to phones)", as_json=False)
    try:
        messages = gateway.outbox(phone.strip())
    except ConnectorError as exc:
        fail(f"the SMS gateway did not answer: {exc}", as_json=False)
    if not messages:
        click.echo("no messages")
    for message in messages:
        click.echo(f"{message.text}")


DEMO_RP: dict[str, Any] = {
    "client_id": "demo-rp",
    "name": "演示应用（社保查询）",
    "grant_types": ["authorization_code", "refresh_token"],
    "scopes": ["openid", "profile", "phone", "realname", "org", "offline_access"],
}


def _seed_demo_rp(rp_url: str) -> str:
    """Register the demo relying party and hand it its secret through the instance dir."""
    from idp.oidc.clients import create_client
    from idp.oidc.models import Client

    settings = context.settings()
    target = settings.instance_path / "demo_rp.json"
    redirect = f"{rp_url}/callback"
    with db.transaction() as session:
        existing = session.get(Client, DEMO_RP["client_id"])
        if (
            existing is not None
            and target.exists()
            and json.loads(target.read_text()).get("issuer") == settings.issuer
            and existing.redirect_uris == [redirect]
            and existing.scopes == DEMO_RP["scopes"]
        ):
            return "present"
        if existing is not None:  # secret lost, or the RP or provider moved: register again
            session.delete(existing)
            session.flush()
        new = create_client(
            session, redirect_uris=[redirect], post_logout_redirect_uris=[f"{rp_url}/"], **DEMO_RP
        )
    target.write_text(
        json.dumps(
            {
                "issuer": settings.issuer,
                "client_id": new.client.client_id,
                "client_secret": new.secret,
                "url": rp_url,
            }
        )
    )
    target.chmod(0o600)
    return "created"


def register(app: Flask) -> None:
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
    )
    for command in commands:
        app.cli.add_command(command)
