"""Account recovery pages (/recover); the steps live in idp/flows/recover.py."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.flows import recover
from idp.web.account import password_problem_text

bp = Blueprint("recover", __name__)


def problem_text(refused: recover.Refused) -> str:
    if refused.problem == "password" and refused.password_problem:
        return password_problem_text(refused.password_problem)
    if refused.problem == "wrong_code":
        return _("The code is wrong. %(n)d tries left.", n=refused.tries_left or 0)
    return {
        "phone_format": _("Enter a mainland mobile number (11 digits)."),
        "too_many_codes": _("Too many codes were requested. Wait a minute and try again."),
        "sms_unavailable": _(
            "The text message could not be sent right now. Nothing has "
            "been saved; please try again later."
        ),
    }.get(refused.problem, _("This code has expired or was used up. Request a new one."))


@bp.get("/recover")
def start_form() -> str:
    return render_template("recover_start.html")


@bp.post("/recover")
def start() -> Response | str:
    result = recover.start(request.form.get("phone", ""), ip=request.remote_addr)
    if isinstance(result, recover.Refused):
        flash(problem_text(result), "error")
        return render_template("recover_start.html")
    # The same page whether or not the number has an account.
    return redirect(url_for("recover.confirm_form", flow_id=result.flow_id or "none"), 303)


@bp.get("/recover/<flow_id>")
def confirm_form(flow_id: str) -> str:
    return render_template("recover_confirm.html", flow_id=flow_id)


@bp.post("/recover/<flow_id>")
def confirm(flow_id: str) -> Response | str:
    result = recover.confirm(
        flow_id,
        request.form.get("code", ""),
        password=request.form.get("password", ""),
        ip=request.remote_addr,
    )
    if isinstance(result, recover.Refused):
        flash(problem_text(result), "error")
        if result.problem in ("expired", "sms_unavailable", "too_many_codes"):
            return redirect(url_for("recover.start_form"), 303)
        return render_template("recover_confirm.html", flow_id=flow_id)
    flash(
        _(
            "Your password has been changed and all your sessions were signed out. Sign in "
            "with the new password."
        ),
        "info",
    )
    return redirect(url_for("web.login_form"), 303)
