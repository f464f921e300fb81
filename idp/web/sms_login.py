"""Sign-in by SMS code, the posts of the sign-in page's 短信验证码 tab (/login/sms) and
what the tab shows; the steps live in idp/flows/sms_login.py.

A refused form comes back through idp/web/forms.py: the message next to the field and at
the top, the number typed kept (the code never). A code that can no longer be used (its
tries spent, or expired) brings the person back to the number form with their number
filled in and the reason, not to an empty start."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request
from flask_babel import gettext as _

from idp.flows import sms_login
from idp.web import forms
from idp.web.forms import WHOLE_FORM
from idp.web.security import safe_next
from idp.web.sign_in import hand_off, login_again, txn_id_of
from idp.web.transactions import Page

bp = Blueprint("sms_login", __name__)

PHONE_FORM = "login-sms"
CODE_FORM = "login-sms-code"
MAX_FLOW_ID = 64


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


def panel(flow_id: str) -> dict[str, Any]:
    """What the 短信验证码 tab shows: the number form, or (a code sent) the code form with
    the number it went to, resend (after the wait) and change number."""
    phone = sms_login.phone_shown(flow_id) if flow_id else None
    if phone is None:
        return {"sms_phone": None, "form": forms.refused(PHONE_FORM)}
    return {
        "sms_phone": phone,
        "sms_flow": flow_id,
        "resend_in": sms_login.resend_in(flow_id),
        "form": forms.refused(CODE_FORM),
    }


@bp.post("/login/sms")
def send_code() -> Page:
    result = sms_login.start(request.form.get("phone", ""), ip=request.remote_addr)
    if isinstance(result, sms_login.Refused):
        forms.refuse(PHONE_FORM, {"phone": problem_text(result)}, request.form)
        return redirect(login_again(request.form, method="sms"), 303)
    # The same next page whether or not the number has an account.
    return redirect(login_again(request.form, method="sms", sms=result.flow_id), 303)


@bp.post("/login/sms/<flow_id>/resend")
def resend(flow_id: str) -> Page:
    flow_id = flow_id[:MAX_FLOW_ID]
    result = sms_login.resend(flow_id, ip=request.remote_addr)
    if isinstance(result, sms_login.Started):
        flash(_("A new code is on its way. The earlier code no longer works."), "info")
        return redirect(login_again(request.form, method="sms", sms=result.flow_id), 303)
    if result.problem == "too_many_codes" and sms_login.phone_shown(flow_id):
        wait = sms_login.resend_in(flow_id)
        message = (
            _("A new code can be sent in %(seconds)d seconds.", seconds=wait)
            if wait
            else problem_text(result)
        )
        forms.refuse(CODE_FORM, {WHOLE_FORM: message}, {})
        return redirect(login_again(request.form, method="sms", sms=flow_id), 303)
    forms.refuse(PHONE_FORM, {WHOLE_FORM: problem_text(result)}, {})
    return redirect(login_again(request.form, method="sms"), 303)


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
    if result.problem == "wrong_code":
        forms.refuse(CODE_FORM, {"code": problem_text(result)}, {})
        return redirect(login_again(request.form, method="sms", sms=flow_id), 303)
    # The code is dead (its tries spent, or expired): back to the number, still typed.
    message = _(
        "This code can no longer be used: it expired, or a wrong code was typed too many "
        "times. Your number is kept below: send a new code."
    )
    forms.refuse(PHONE_FORM, {WHOLE_FORM: message}, {"phone": result.phone or ""})
    return redirect(login_again(request.form, method="sms"), 303)
