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
from idp.web.account import password_problem_text
from idp.web.security import login_required, start_sso_cookie
from idp.web.transactions import resume_by_id
from realname.agreements import CURRENT, AgreementKind
from realname.identifiers import RULE_MESSAGES
from realname.proofing import (
    NOT_MATCHED,
    Attempts,
    Outcome,
    prove_real_name,
)

bp = Blueprint("register", __name__)


def problem_text(refused: register.Refused) -> str:
    texts = {
        register.Problem.phone_format: _("Enter a mainland mobile number (11 digits)."),
        register.Problem.agreement: _("Please read and accept the registration agreement."),
        register.Problem.too_many_codes: _(
            "Too many codes were requested. Wait a minute and try again."
        ),
        register.Problem.sms_unavailable: _(
            "The text message could not be sent right now. "
            "Nothing has been saved; please try again later."
        ),
        register.Problem.expired: _("This code has expired or was used up. Request a new one."),
        register.Problem.phone_taken: _(
            "This mobile number already has an account. Sign in instead."
        ),
        register.Problem.username_format: _(
            "A user name has 3 to 64 letters, digits or _ . -, and starts with a letter."
        ),
    }
    if refused.problem is register.Problem.wrong_code:
        return _("The code is wrong. %(n)d tries left.", n=refused.tries_left or 0)
    if refused.problem is register.Problem.username_taken:
        return _(
            "This user name is taken. Choose another one; the code allows %(n)d more tries.",
            n=refused.tries_left or 0,
        )
    if refused.problem is register.Problem.password and refused.password_problem:
        return password_problem_text(refused.password_problem)
    return texts.get(refused.problem, _("Please try again."))


@bp.get("/agreement")
def agreement() -> str:
    kind = (
        AgreementKind.organization
        if request.args.get("kind") == "organization"
        else AgreementKind.person
    )
    return render_template("agreement.html", agreement=CURRENT[kind], zh=str(get_locale()) == "zh")


@bp.get("/register")
def start_form() -> str:
    return render_template("register_start.html", phone="")


@bp.post("/register")
def start() -> Response | str:
    phone = request.form.get("phone", "")
    result = register.start(
        phone, agreement_accepted=request.form.get("agreement") == "yes", ip=request.remote_addr
    )
    if isinstance(result, register.Refused):
        flash(problem_text(result), "error")
        return render_template("register_start.html", phone=phone[:20])
    return redirect(url_for("register.confirm_form", flow_id=result.flow_id), 303)


@bp.get("/register/<flow_id>")
def confirm_form(flow_id: str) -> str:
    return render_template(
        "register_confirm.html", flow_id=flow_id, masked_phone=register.masked_phone(flow_id)
    )


@bp.post("/register/<flow_id>")
def confirm(flow_id: str) -> Response | str:
    result = register.confirm(
        flow_id,
        request.form.get("code", ""),
        username=request.form.get("username", "").strip() or None,
        password=request.form.get("password", ""),
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    if isinstance(result, register.Refused):
        flash(problem_text(result), "error")
        if result.problem in (register.Problem.expired, register.Problem.phone_taken):
            return redirect(
                url_for(
                    "web.login_form"
                    if result.problem is register.Problem.phone_taken
                    else "register.start_form"
                ),
                303,
            )
        return render_template(
            "register_confirm.html", flow_id=flow_id, masked_phone=register.masked_phone(flow_id)
        )
    start_sso_cookie(result.token)
    flash(_("Your account is ready. Verify your real name to use services that need it."), "info")
    return redirect(url_for("register.realname_form"), 303)


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


@bp.get("/account/realname")
@login_required
def realname_form() -> str:
    person = db.session.get(Person, g.sso.person_id)
    return render_template("realname.html", person=person)


@bp.post("/account/realname")
@login_required
def realname() -> Response | tuple[str, int]:
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
    zh = str(get_locale()) == "zh"
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
        **dict.fromkeys(NOT_MATCHED, not_matched),
    }
    if result.outcome is Outcome.format_rejected:
        zh_text, en_text = RULE_MESSAGES.get(result.rule or "", ("格式不正确", "wrong format"))
        message = _("The ID number was refused: %(rule)s.", rule=zh_text if zh else en_text)
    else:
        message = messages[result.outcome]
    status = {Outcome.unavailable: 503, Outcome.too_many_attempts: 429}.get(result.outcome, 400)
    return render_template(
        "realname.html",
        person=person,
        error=message,
        recovery=result.outcome in NOT_MATCHED,
        throttled=result.outcome is Outcome.too_many_attempts,
        name=request.form.get("name", "")[:64],
    ), status


@bp.route("/agreement/accept", methods=["GET", "POST"])
@login_required
def accept_agreement() -> Response | str | tuple[str, int]:
    """A newer agreement than the one the person accepted: read it, accept, carry on with
    the sign-in (transaction) that asked for it, or to the account centre."""
    txn_id = request.values.get("txn")
    pending = agreement_step.pending(g.sso)
    if pending is None or (request.method == "POST" and request.form.get("decision") == "accept"):
        if pending is not None:
            agreement_step.accept(g.sso, pending)
        if txn_id:
            return resume_by_id(txn_id, posted=True)
        return redirect(url_for("account.overview"), 303)
    return render_template(
        "agreement.html",
        agreement=pending,
        zh=str(get_locale()) == "zh",
        accept=True,
        txn_id=txn_id,
    )
