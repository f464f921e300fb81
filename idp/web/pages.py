"""Sign-in and sign-out pages. The form contract (inputs `username`, `password`,
`csrf_token`) is stable: automation and RP test suites rely on it."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import text
from werkzeug.wrappers import Response

from idp import context
from idp.db import db
from idp.flows import login, logout
from idp.web.security import end_sso_cookie, safe_next, start_sso_cookie
from idp.web.transactions import account_sign_in, resume_by_id, start

bp = Blueprint("web", __name__)

MAX_IDENTIFIER = 128
MAX_TXN_ID = 64
# The account a failed sign-in typed (perhaps an ID number), to fill the form in again:
# kept in Redis, since anyone holding the `idp_state` cookie can read what is in it; the
# cookie carries only a random reference to it.
TYPED_KIND = "login-typed"
TYPED_TTL = 300


@bp.get("/")
def home() -> Response:
    return redirect(url_for("account.overview" if g.sso else "web.login_form"))


@bp.get("/login")
def login_form() -> Response | str:
    next_url = safe_next(request.args.get("next"))
    txn_id = _txn_id(request.args)
    _check_parts_answer()  # say "unavailable" now, not after the person typed a password
    if g.sso is not None and "switch" not in request.args:
        return redirect(next_url or url_for("account.overview"))
    return render_template(
        "login.html", next_url=next_url, txn_id=txn_id, username=_typed_account()
    )


@bp.post("/login")
def login_submit() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    identifier = request.form.get("username", "").strip()[:MAX_IDENTIFIER]
    password = request.form.get("password", "")
    next_url = safe_next(request.form.get("next"))
    txn_id = _txn_id(request.form)
    again = redirect(url_for("web.login_form", next=next_url, txn=txn_id), 303)
    if not identifier or not password:
        flash(_("Enter your account and password."), "error")
        _keep_typed_account(identifier)
        return again

    result = login.sign_in_with_password(
        identifier,
        password,
        channel="web",
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    if result.outcome is login.Outcome.blocked:
        minutes = max(1, -(-result.retry_after // 60))
        message = _(
            "Too many failed attempts. Try again in %(minutes)d minutes.",
            minutes=minutes,
        )
        return (
            render_template(
                "login.html", next_url=next_url, txn_id=txn_id, username=identifier, blocked=message
            ),
            429,
            {"Retry-After": str(max(result.retry_after, 1))},
        )
    if result.outcome is login.Outcome.failed:
        flash(_("The account or password is incorrect."), "error")
        _keep_typed_account(identifier)
        return again

    assert result.token is not None and result.session is not None
    if g.sso is not None:  # signing in again in this browser replaces the old session
        logout.sign_out(g.sso, reason="replaced")
    start_sso_cookie(result.token)
    session.pop("csrf_token", None)  # a new CSRF secret for the signed-in session
    # The sign-in hands back to the transaction that asked for it (by id); a sign-in no
    # service asked for is the account centre's own, through the same checks.
    if txn_id:
        return resume_by_id(txn_id, result.session, posted=True)
    destination = next_url or url_for("account.overview")
    return start(account_sign_in(destination), result.session, posted=True)


def _txn_id(values: Mapping[str, str]) -> str | None:
    txn_id = values.get("txn", "")
    return txn_id if 0 < len(txn_id) <= MAX_TXN_ID and txn_id.isprintable() else None


def _keep_typed_account(identifier: str) -> None:
    """Remember what was typed for the next sign-in page this browser shows (once)."""
    if identifier:
        reference = secrets.token_urlsafe(16)
        context.store().upsert(TYPED_KIND, reference, {"account": identifier}, TYPED_TTL)
        session["login_typed"] = reference


def _typed_account() -> str:
    reference = session.pop("login_typed", None)
    if not isinstance(reference, str):
        return ""
    kept = context.store().consume(TYPED_KIND, reference)
    return str(kept["account"]) if kept else ""


@bp.get("/logout")
def logout_confirm() -> Response | str:
    if g.sso is None:
        return redirect(url_for("web.login_form"))
    return render_template("logout.html")


@bp.post("/logout")
def logout_submit() -> Response:
    if g.sso is not None:
        logout.sign_out(g.sso)
        end_sso_cookie()
        session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("web.login_form"), 303)


def _check_parts_answer() -> None:
    db.session.execute(text("SELECT 1"))
    context.store().ping()


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Liveness and readiness for a load balancer: the database and Redis both answer."""
    _check_parts_answer()
    return {"status": "ok"}, 200
