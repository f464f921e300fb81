"""Account recovery pages (/recover); the steps live in idp/flows/recover.py. The pages
look the same whether or not the number has an account."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp.flows import recover
from idp.web import code_words, forms
from idp.web.account import password_problem_text
from idp.web.code_step import CodeStep

bp = Blueprint("recover", __name__)

START_FORM = "recover-start"
CODE_FORM = "recover-code"
STEP = CodeStep(START_FORM, CODE_FORM, "recover.confirm_form")


def problem_text(refused: recover.Refused) -> str:
    if refused.problem == "password" and refused.password_problem:
        return password_problem_text(refused.password_problem)
    if refused.problem == "wrong_code":
        return code_words.wrong_code(refused.tries_left)
    if refused.problem == "too_many_codes":
        return code_words.too_many_codes(refused.wait)
    if refused.problem == "phone_format":
        return code_words.phone_format()
    if refused.problem == "sms_unavailable":
        return code_words.sms_unavailable()
    return code_words.code_dead()


@bp.get("/recover")
def start_form() -> str:
    return render_template("recover_start.html", form=forms.refused(START_FORM))


@bp.post("/recover")
def start() -> Response:
    result = recover.start(request.form.get("phone", ""), ip=request.remote_addr)
    if isinstance(result, recover.Refused):
        forms.refuse(START_FORM, {"phone": problem_text(result)}, request.form)
        return redirect(url_for("recover.start_form"), 303)
    # The same page whether or not the number has an account.
    return redirect(url_for("recover.confirm_form", flow_id=result.flow_id), 303)


@bp.get("/recover/<flow_id>")
def confirm_form(flow_id: str) -> Response | str:
    return STEP.page(
        recover.progress(flow_id),
        flow_id,
        template="recover_confirm.html",
        to_start=redirect(url_for("recover.start_form"), 303),
        # Back to a finished step: say so, and offer to sign in
        done=lambda progress: render_template("recover_done.html", progress=progress),
    )


@bp.post("/recover/<flow_id>")
def confirm(flow_id: str) -> Response:
    result = recover.confirm(
        flow_id,
        request.form.get("code", ""),
        password=request.form.get("password", ""),
        ip=request.remote_addr,
    )
    if isinstance(result, recover.Refused):
        field = {"wrong_code": "code", "password": "password"}.get(result.problem)
        # A dead code: the page itself says so, next to the way to a new one.
        said = {field: problem_text(result)} if field else {}
        forms.refuse(CODE_FORM, said, request.form)
        return STEP.to_code_page(flow_id)
    flash(
        _(
            "Your password has been changed and all your sessions were signed out. Sign in "
            "with the new password."
        ),
        "info",
    )
    return redirect(url_for("web.login_form"), 303)


@bp.post("/recover/<flow_id>/resend")
def resend(flow_id: str) -> Response:
    result = recover.resend(flow_id, ip=request.remote_addr)
    if isinstance(result, recover.Refused):
        return STEP.resend_refused(flow_id, problem_text(result))
    flash(_("If the number has an account, a new code is on its way."), "info")
    return STEP.to_code_page(flow_id)


@bp.post("/recover/<flow_id>/change")
def change_number(flow_id: str) -> Response:
    phone = recover.change_number(flow_id)
    return STEP.number_changed(phone, redirect(url_for("recover.start_form"), 303))
