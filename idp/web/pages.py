"""Sign-in and sign-out pages. The form contract (inputs `username`, `password`,
`csrf_token`) is stable: automation and RP test suites rely on it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import text
from werkzeug.wrappers import Response

from idp import context
from idp.authn import Transactions
from idp.db import db
from idp.flows import login, logout
from idp.oidc import frontchannel
from idp.web import account, finished, forms, qr
from idp.web import sms_login as sms_pages
from idp.web.forms import WHOLE_FORM
from idp.web.security import end_sso_cookie, safe_next
from idp.web.sign_in import METHODS, TABS, hand_off, login_again, tab_of, txn_id_of

bp = Blueprint("web", __name__)

MAX_IDENTIFIER = 128
# The password form, refused: its messages and the account typed (perhaps an ID number)
# are kept by idp/web/forms.py in Redis, never in the readable `idp_state` cookie.
SIGN_IN_FORM = "login"


@bp.get("/")
def home() -> Response:
    return redirect(url_for("account.overview" if g.sso else "web.login_form"))


@bp.get("/login")
def login_form() -> Response | str | tuple[str, int]:
    next_url = safe_next(request.args.get("next"))
    txn_id = txn_id_of(request.args)
    _check_parts_answer()  # say "unavailable" now, not after the person typed a password
    done = finished.recall(txn_id)
    if done is not None:  # Back to the sign-in page of a sign-in this browser finished
        return finished.page(done)
    if g.sso is not None and "switch" not in request.args:
        return redirect(next_url or url_for("account.overview"))
    method = request.args.get("method", "")
    return _login_page(next_url, txn_id, method if method in METHODS else METHODS[0])


def _login_page(
    next_url: str | None, txn_id: str | None, method: str, *, blocked: str | None = None
) -> str:
    """The sign-in page: tabs 个人用户 / 法人用户, methods 账号密码 / 短信验证码 / 扫码登录,
    each a link that works without script (the page is drawn again for it)."""
    tab = tab_of(request.values)
    keep: dict[str, Any] = {"txn": txn_id, "next": next_url, "switch": request.args.get("switch")}
    gone = txn_id is not None and not _still_open(txn_id)
    # A sign-in that expired is said so at the top (the QR tab says it in its own place);
    # the forms no longer carry it, so signing in now leads to the account centre.
    shown: dict[str, object] = {"gone": gone and method != "qr"}
    if method == "password":
        state = forms.refused(SIGN_IN_FORM)
        typed = request.form.get("username", "").strip()[:MAX_IDENTIFIER]
        if typed:  # drawn by the POST itself (blocked): what was just typed
            state = forms.FormState(state.errors, {**state.values, "username": typed})
        shown["form"] = state
    elif method == "sms":
        shown.update(sms_pages.panel(request.args.get("sms", "")[:64]))
    else:
        shown["qr"] = qr.panel(txn_id, next_url, request.args.get("qr", "")[:64] or None)
    return render_template(
        "login.html",
        next_url=next_url,
        txn_id=None if gone else txn_id,
        tab=tab,
        method=method,
        blocked=blocked,
        tab_links={t: url_for("web.login_form", **keep, tab=t, method=method) for t in TABS},
        method_links={m: url_for("web.login_form", **keep, tab=tab, method=m) for m in METHODS},
        **shown,
    )


@bp.post("/login")
def login_submit() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    identifier = request.form.get("username", "").strip()[:MAX_IDENTIFIER]
    password = request.form.get("password", "")
    next_url = safe_next(request.form.get("next"))
    txn_id = txn_id_of(request.form)
    again = redirect(login_again(request.form), 303)
    if not identifier or not password:
        missing = {"username": _("Enter your account."), "password": _("Enter your password.")}
        given = {"username": identifier, "password": password}
        errors = {name: text for name, text in missing.items() if not given[name]}
        forms.refuse(SIGN_IN_FORM, errors, {"username": identifier})
        return again

    result = login.sign_in_with_password(
        identifier,
        password,
        channel=_channel_of(txn_id),
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
            _login_page(next_url, txn_id, "password", blocked=message),
            429,
            {"Retry-After": str(max(result.retry_after, 1))},
        )
    if result.outcome is login.Outcome.failed:
        message = _("The account or password is incorrect.")
        forms.refuse(SIGN_IN_FORM, {WHOLE_FORM: message}, {"username": identifier})
        return again

    assert result.token is not None and result.session is not None
    return hand_off(result.token, result.session, txn_id=txn_id, next_url=next_url)


def _channel_of(txn_id: str | None) -> str:
    """The channel the sign-in belongs to: the transaction's (the official app signs in
    through this form too), else the web hall's."""
    txn = Transactions(context.store()).find(txn_id) if txn_id else None
    return txn.channel if txn is not None else "web"


def _still_open(txn_id: str) -> bool:
    return Transactions(context.store()).find(txn_id) is not None


@bp.get("/logout")
def logout_confirm() -> Response | str:
    if g.sso is None:
        return redirect(url_for("web.login_form"))
    return render_template("logout.html")


@bp.post("/logout")
def logout_submit() -> Response:
    frames = frontchannel.targets([g.sso.id]) if g.sso is not None else []
    if g.sso is not None:
        logout.sign_out(g.sso)
        end_sso_cookie()
        session.clear()
    if frames:  # the RPs' front-channel logout pages are loaded first
        return account.after_sign_out(frames)
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
