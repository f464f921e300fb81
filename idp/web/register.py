"""Registration pages (/register), the agreement (/agreement) and the real-name step in
the account centre (/account/realname). The steps live in idp/flows/register.py and
realname/proofing.py."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from idp import context
from idp.accounts.models import Person
from idp.db import db
from idp.flows import agreement as agreement_step
from idp.flows import register
from idp.web import code_words, forms
from idp.web.account import password_problem_text
from idp.web.code_step import CodeStep
from idp.web.security import login_required, start_sso_cookie
from idp.web.transactions import resume_by_id
from realname.agreements import CURRENT, AgreementKind
from realname.identifiers import RULE_MESSAGES
from realname.proofing import (
    NOT_MATCHED,
    Attempts,
    Outcome,
    ProofingResult,
    prove_real_name,
)

bp = Blueprint("register", __name__)


START_FORM = "register-start"
CODE_FORM = "register-code"
STEP = CodeStep(START_FORM, CODE_FORM, "register.confirm_form")


def problem_text(refused: register.Refused) -> str:
    texts = {
        register.Problem.phone_format: code_words.phone_format(),
        register.Problem.agreement: _("Please read and accept the registration agreement."),
        register.Problem.sms_unavailable: code_words.sms_unavailable(),
        register.Problem.expired: code_words.code_dead(),
        register.Problem.phone_taken: _(
            "This mobile number already has an account. Sign in instead."
        ),
        register.Problem.username_format: _(
            "A user name has 3 to 64 letters, digits or _ . -, and starts with a letter."
        ),
    }
    if refused.problem is register.Problem.too_many_codes:
        return code_words.too_many_codes(refused.wait)
    if refused.problem is register.Problem.wrong_code:
        return code_words.wrong_code(refused.tries_left)
    if refused.problem is register.Problem.username_taken:
        return _(
            "This user name is taken. Choose another one; the code allows %(n)d more tries.",
            n=refused.tries_left or 0,
        )
    if refused.problem is register.Problem.password and refused.password_problem:
        return password_problem_text(refused.password_problem)
    return texts.get(refused.problem, _("Please try again."))


# The field each refusal is about (its message goes next to it); the rest are the form's.
START_FIELDS = {register.Problem.agreement: "agreement"}
CODE_FIELDS = {
    register.Problem.wrong_code: "code",
    register.Problem.username_format: "username",
    register.Problem.username_taken: "username",
    register.Problem.password: "password",
}


@bp.get("/agreement")
def agreement() -> str:
    kind = (
        AgreementKind.organization
        if request.args.get("kind") == "organization"
        else AgreementKind.person
    )
    return render_template("agreement.html", agreement=CURRENT[kind], zh=str(get_locale()) == "zh")


def _txn() -> str | None:
    """The sign-in a registration is for (from the sign-in page's link), if any."""
    return request.values.get("txn", "")[:64] or None


def _start_url(txn: str | None) -> str:
    return url_for("register.start_form", txn=txn) if txn else url_for("register.start_form")


@bp.get("/register")
def start_form() -> str:
    return render_template("register_start.html", form=forms.refused(START_FORM), txn=_txn())


@bp.post("/register")
def start() -> Response:
    result = register.start(
        request.form.get("phone", ""),
        agreement_accepted=request.form.get("agreement") == "yes",
        ip=request.remote_addr,
        txn=_txn(),
    )
    if isinstance(result, register.Refused):
        field = START_FIELDS.get(result.problem, "phone")
        forms.refuse(START_FORM, {field: problem_text(result)}, request.form)
        return redirect(_start_url(_txn()), 303)
    return redirect(url_for("register.confirm_form", flow_id=result.flow_id), 303)


@bp.get("/register/<flow_id>")
def confirm_form(flow_id: str) -> Response | str:
    return STEP.page(
        register.progress(flow_id),
        flow_id,
        template="register_confirm.html",
        to_start=redirect(url_for("register.start_form"), 303),
        # Back to a finished step: say so, and where to go on
        done=lambda progress: render_template("register_done.html", progress=progress),
    )


@bp.post("/register/<flow_id>")
def confirm(flow_id: str) -> Response | tuple[str, int]:
    result = register.confirm(
        flow_id,
        request.form.get("code", ""),
        username=request.form.get("username", "").strip() or None,
        password=request.form.get("password", ""),
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    if isinstance(result, register.Refused):
        if result.problem is register.Problem.phone_taken:
            flash(problem_text(result), "error")
            return redirect(url_for("web.login_form"), 303)
        field = CODE_FIELDS.get(result.problem, forms.WHOLE_FORM)
        # A dead code: the page itself says so, next to the way to a new one.
        said = {} if result.problem is register.Problem.expired else {field: problem_text(result)}
        forms.refuse(CODE_FORM, said, request.form)
        return STEP.to_code_page(flow_id)
    start_sso_cookie(result.token)
    flash(_("Your account is ready. Verify your real name to use services that need it."), "info")
    progress = register.progress(flow_id)
    if progress is not None and progress.txn:  # the sign-in the registration was for
        return resume_by_id(progress.txn, result.session, posted=True)
    return redirect(url_for("register.realname_form"), 303)


@bp.post("/register/<flow_id>/resend")
def resend(flow_id: str) -> Response:
    result = register.resend(flow_id, ip=request.remote_addr)
    if isinstance(result, register.Refused):
        return STEP.resend_refused(flow_id, problem_text(result))
    flash(_("A new code was sent to %(phone)s.", phone=result.masked_phone), "info")
    return STEP.to_code_page(flow_id)


@bp.post("/register/<flow_id>/change")
def change_number(flow_id: str) -> Response:
    """Back to the first step with the number to correct and the agreement still ticked."""
    progress = register.progress(flow_id)
    phone = register.change_number(flow_id)
    to_start = redirect(_start_url(progress.txn if progress else None), 303)
    return STEP.number_changed(phone, to_start, agreement="yes")


def attempts() -> Attempts:
    settings = context.settings()
    return Attempts(
        store=context.store(),
        address=request.remote_addr,
        per_account=settings.realname_tries_per_account,
        per_address=settings.realname_tries_per_address,
        per_id_number=settings.realname_tries_per_id_number,
        face_per_account=settings.realname_face_tries_per_account,
    )


REALNAME_FORM = "realname"


@bp.get("/account/realname")
@login_required
def realname_form() -> str:
    person = db.session.get(Person, g.sso.person_id)
    form = forms.refused(REALNAME_FORM)
    outcome = form.value("outcome")
    return render_template(
        "realname.html",
        person=person,
        form=form,
        recovery=outcome in {o.value for o in NOT_MATCHED},
        throttled=outcome == Outcome.too_many_attempts.value,
    )


@bp.post("/account/realname")
@login_required
def realname() -> Response:
    person = db.session.get(Person, g.sso.person_id)
    assert person is not None
    result = prove_real_name(
        db.session,
        context.accounts(),
        context.connectors().population,
        person,
        name=request.form.get("name", ""),
        id_type=request.form.get("id_type", "resident"),
        id_number=request.form.get("id_number", ""),
        channel=g.sso.channel,
        attempts=attempts(),
    )
    if result.outcome is Outcome.verified:
        try:
            db.session.commit()
        except IntegrityError:  # another account verified the same identity a moment ago
            db.session.rollback()
            return realname()
        flash(_("Real-name verification succeeded. Your assurance level is now 3."), "info")
        return redirect(url_for("account.overview"), 303)
    db.session.commit()  # audit rows of refusals; the person is unchanged
    field = {
        Outcome.format_rejected: "id_number",
        Outcome.unsupported_type: "id_type",
    }.get(result.outcome, forms.WHOLE_FORM)
    typed = {
        "name": request.form.get("name", "")[:64],
        "id_number": request.form.get("id_number", "")[:24],
        "outcome": result.outcome.value,  # what the page offers next (recovery, nothing)
    }
    forms.refuse(REALNAME_FORM, {field: _realname_refusal(result)}, typed)
    return redirect(url_for("register.realname_form"), 303)


def _realname_refusal(result: ProofingResult) -> str:
    if result.outcome is Outcome.format_rejected:
        zh_text, en_text = RULE_MESSAGES.get(result.rule or "", ("格式不正确", "wrong format"))
        zh = str(get_locale()) == "zh"
        return _("The ID number was refused: %(rule)s.", rule=zh_text if zh else en_text)
    # One answer for every negative outcome: the page must not tell the registry's "no
    # match" from "deceased" or "cancelled", nor from "another account holds it".
    not_matched = _(
        "The name and ID number did not pass the population registry check, or cannot be "
        "used for a new account. Check them and try again; if this identity already has "
        "an account, sign in with it or recover it."
    )
    messages = {
        Outcome.unsupported_type: _(
            "This certificate type cannot be verified online yet. "
            "Please verify at a service counter."
        ),
        Outcome.unavailable: _(
            "The population registry is not answering right now. Nothing "
            "has been changed; please try again later."
        ),
        Outcome.too_many_attempts: _(
            "Too many verification attempts today. Nothing was checked this time; "
            "please try again tomorrow."
        ),
    }
    return messages.get(result.outcome, not_matched)


@bp.get("/agreement/accept")
@login_required
def accept_agreement() -> str:
    """A newer agreement than the one the person accepted: read it and accept it. Back to
    this page once it is accepted says so, with the way on."""
    txn_id = request.args.get("txn", "")[:64] or None
    pending = agreement_step.pending(g.sso)
    return render_template(
        "agreement.html",
        agreement=pending or CURRENT[AgreementKind.person],
        zh=str(get_locale()) == "zh",
        accept=pending is not None,
        accepted=pending is None,
        txn_id=txn_id,
    )


@bp.post("/agreement/accept")
@login_required
def accept_agreement_submit() -> Response | tuple[str, int]:
    """Accept, then carry on with the sign-in (transaction) that asked for it, or to the
    account centre. Sent twice (Back, then the button again), it changes nothing."""
    txn_id = request.form.get("txn", "")[:64] or None
    pending = agreement_step.pending(g.sso)
    if request.form.get("decision") != "accept":
        args = {"txn": txn_id} if txn_id else {}
        return redirect(url_for("register.accept_agreement", _external=False, **args), 303)
    if pending is not None:
        agreement_step.accept(g.sso, pending)
    if txn_id:
        return resume_by_id(txn_id, posted=True)
    return redirect(url_for("account.overview"), 303)
