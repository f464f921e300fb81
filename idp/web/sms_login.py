"""Sign-in by SMS code, the two posts of the sign-in page's 短信验证码 tab (/login/sms);
the steps live in idp/flows/sms_login.py."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request
from flask_babel import gettext as _

from idp.flows import sms_login
from idp.web.security import safe_next
from idp.web.sign_in import hand_off, login_again, txn_id_of
from idp.web.transactions import Page

bp = Blueprint("sms_login", __name__)


def problem_text(refused: sms_login.Refused) -> str:
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


@bp.post("/login/sms")
def send_code() -> Page:
    result = sms_login.start(request.form.get("phone", ""), ip=request.remote_addr)
    if isinstance(result, sms_login.Refused):
        flash(problem_text(result), "error")
        return redirect(login_again(request.form, method="sms"), 303)
    # The same next page whether or not the number has an account.
    return redirect(login_again(request.form, method="sms", sms=result.flow_id), 303)


@bp.post("/login/sms/<flow_id>")
def sign_in(flow_id: str) -> Page:
    result = sms_login.sign_in(
        flow_id,
        request.form.get("code", ""),
        channel="web",
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    if isinstance(result, sms_login.SignedIn):
        return hand_off(
            result.token,
            result.session,
            txn_id=txn_id_of(request.form),
            next_url=safe_next(request.form.get("next")),
        )
    flash(problem_text(result), "error")
    step = flow_id if result.problem == "wrong_code" else None
    return redirect(login_again(request.form, method="sms", sms=step), 303)
