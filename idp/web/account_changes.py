"""The account centre's changes to the account itself: the user name, the phone number,
"my data", and closing the account. Every POST needs the session and its CSRF token, and
answers with a redirect."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp import context
from idp.accounts import changes
from idp.accounts.models import Person
from idp.accounts.services import AccountExistsError, InvalidIdentifierError
from idp.audit import record_event
from idp.audit.events import Event
from idp.db import db
from idp.flows import change_phone, close_account, my_data
from idp.flows.reauth import password_confirmed
from idp.web import code_words, forms
from idp.web.account import DATA_FORM, PHONE_FORM, USERNAME_FORM, _current_person
from idp.web.account_words import day
from idp.web.code_step import CodeStep
from idp.web.org_words import role_label
from idp.web.security import login_required
from realname.agents import memberships_for

bp = Blueprint("account_changes", __name__, url_prefix="/account")

CODE_FORM = "phone-code"
PHONE_STEP = CodeStep(PHONE_FORM, CODE_FORM, "account_changes.phone_code_form", "new_phone")
CLOSE_FORM = "account-close"
DOWNLOAD_KIND = "my-data-download"
DOWNLOAD_TTL = 60  # the one GET after the POST fetches it


def _back(anchor: str) -> Response:
    return redirect(url_for("account.overview") + anchor, 303)


def _with_password(field: str) -> tuple[Person, str]:
    """The signed-in person, and the current password they typed in `field` to confirm a
    change (idp/flows/reauth.py checks it and counts a wrong one)."""
    return _current_person(), request.form.get(field, "")


def _wrong_password() -> str:
    return _("Your current password is incorrect.")


# -- user name ---------------------------------------------------------------------------


@bp.post("/username")
@login_required
def change_username() -> Response:
    person = _current_person()
    had = person.username
    try:
        name = changes.set_username(db.session, person, request.form.get("username", ""))
    except InvalidIdentifierError as broken:
        db.session.rollback()
        forms.refuse(USERNAME_FORM, {"username": username_rule_text(broken.rule)}, request.form)
        return _back("#change-username")
    except AccountExistsError:
        db.session.rollback()
        forms.refuse(
            USERNAME_FORM,
            {"username": _("This user name is taken. Choose another one.")},
            request.form,
        )
        return _back("#change-username")
    if name != had:
        record_event(
            db.session,
            Event.username_changed,
            person_id=person.id,
            channel=g.sso.channel,
            session_id=g.sso.id,
            detail={"had_one": had is not None},
        )
    db.session.commit()
    flash(_("Your user name is now %(name)s.", name=name), "info")
    return _back("#profile")


def username_rule_text(rule: str) -> str:
    return {
        "digits": _(
            "A user name must start with a letter, so that it cannot be mistaken for a phone"
            " or ID number."
        ),
        "reserved": _("This user name is reserved. Choose another one."),
    }.get(
        rule,
        _(
            "Use 3 to 64 characters: a letter first, then letters, digits, dots, dashes or"
            " underscores."
        ),
    )


# -- phone number ------------------------------------------------------------------------


@bp.post("/phone")
@login_required
def start_phone_change() -> Response:
    person, password = _with_password("phone_password")
    new_phone = request.form.get("new_phone", "")
    result = change_phone.start(
        person, g.sso, password=password, new_phone=new_phone, ip=request.remote_addr
    )
    if isinstance(result, change_phone.Refused):
        field = "phone_password" if result.problem is change_phone.Problem.password else "new_phone"
        forms.refuse(PHONE_FORM, {field: phone_problem_text(result)}, request.form)
        return _back("#change-phone")
    return redirect(url_for("account_changes.phone_code_form", flow_id=result.flow_id), 303)


@bp.get("/phone/<flow_id>")
@login_required
def phone_code_form(flow_id: str) -> Response | str:
    return PHONE_STEP.page(
        change_phone.progress(g.sso, flow_id),
        flow_id,
        template="account_phone.html",
        to_start=_back("#change-phone"),
        # Back to a finished step: it is done, the account centre shows it
        done=lambda found: _phone_changed(found.masked_phone),
        form_name="code_form",
    )


@bp.post("/phone/<flow_id>")
@login_required
def confirm_phone_change(flow_id: str) -> Response:
    person = _current_person()
    result = change_phone.confirm(person, g.sso, flow_id, request.form.get("code", ""))
    if isinstance(result, change_phone.Changed):
        return _phone_changed(result.masked_phone)
    if result.problem in (change_phone.Problem.wrong_code, change_phone.Problem.expired):
        forms.refuse(CODE_FORM, {"code": phone_problem_text(result)}, {})
        return PHONE_STEP.to_code_page(flow_id)
    forms.refuse(PHONE_FORM, {"new_phone": phone_problem_text(result)}, {})
    return _back("#change-phone")


@bp.post("/phone/<flow_id>/resend")
@login_required
def resend_phone_code(flow_id: str) -> Response:
    result = change_phone.resend(g.sso, flow_id, request.remote_addr)
    if isinstance(result, change_phone.Refused):
        return PHONE_STEP.resend_refused(flow_id, phone_problem_text(result))
    flash(_("A new code was sent to %(phone)s.", phone=result.masked_phone), "info")
    return PHONE_STEP.to_code_page(flow_id)


@bp.post("/phone/<flow_id>/change")
@login_required
def change_new_number(flow_id: str) -> Response:
    """Back to the first step with the new number to correct (the password is asked again)."""
    phone = change_phone.change_number(g.sso, flow_id)
    return PHONE_STEP.number_changed(phone, _back("#change-phone"))


def _phone_changed(masked_phone: str) -> Response:
    flash(_("Your mobile number is now %(phone)s.", phone=masked_phone), "info")
    return _back("#profile")


def phone_problem_text(refused: change_phone.Refused) -> str:
    problem = change_phone.Problem
    if refused.problem is problem.wrong_code:
        return code_words.wrong_code(refused.tries_left)
    if refused.problem is problem.too_many_codes:
        return code_words.too_many_codes(refused.wait or 3600)
    return {
        problem.password: _wrong_password(),
        problem.phone_format: code_words.phone_format(),
        problem.same_number: _("This is already your number."),
        problem.sms_unavailable: code_words.sms_unavailable(),
        problem.expired: code_words.code_dead(),
        problem.phone_taken: _(
            "This number belongs to another account. Sign in with it, or recover that"
            " account, if it is yours."
        ),
    }[refused.problem]


# -- my data -----------------------------------------------------------------------------


@bp.post("/my-data")
@login_required
def prepare_my_data() -> Response:
    """Checks the password (if typed), then hands the download to the one GET after."""
    person, password = _with_password("data_password")
    if password and not password_confirmed(
        person, g.sso, password, request.remote_addr, purpose="my_data"
    ):
        forms.refuse(DATA_FORM, {"data_password": _wrong_password()}, {})
        return _back("#my-data")
    form = "html" if request.form.get("format") == "html" else "json"
    reference = secrets.token_urlsafe(16)
    kept = {"sso": g.sso.id, "full": bool(password), "format": form}
    context.store().upsert(DOWNLOAD_KIND, reference, kept, DOWNLOAD_TTL)
    session["my_data"] = reference
    return redirect(url_for("account_changes.download_my_data"), 303)


@bp.get("/my-data")
@login_required
def download_my_data() -> Response:
    """The file, once per POST, only in the session that asked for it."""
    reference = session.pop("my_data", None)
    kept = isinstance(reference, str) and context.store().consume(DOWNLOAD_KIND, reference)
    if not kept or kept.get("sso") != g.sso.id:
        flash(_("Ask for your data again."), "info")
        return _back("#my-data")
    document = my_data.export(_current_person(), g.sso, full=kept["full"])
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    if kept["format"] == "html":
        body, mimetype = render_template("account_my_data.html", data=document), "text/html"
        name = f"my-data-{stamp}.html"
    else:
        body, mimetype = json.dumps(document, ensure_ascii=False, indent=2), "application/json"
        name = f"my-data-{stamp}.json"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# -- closing the account ----------------------------------------------------------------


@bp.get("/close")
@login_required
def close_form() -> str:
    person = _current_person()
    return render_template(
        "account_close.html",
        person=person,
        organisations=memberships_for(db.session, person),
        role_label=role_label,
        days=context.settings().account_closure_days,
        day=day,
        close_form=forms.refused(CLOSE_FORM),
    )


@bp.post("/close")
@login_required
def request_closure() -> Response:
    person, password = _with_password("close_password")
    understood = request.form.get("understood") == "yes"
    result = close_account.request(
        person, g.sso, password=password, understood=understood, ip=request.remote_addr
    )
    if isinstance(result, close_account.Requested):
        flash(_("Your account will be closed on %(date)s.", date=day(result.due)), "info")
        return _back("#close")
    errors = {
        close_account.Refusal.password: {"close_password": _wrong_password()},
        close_account.Refusal.not_understood: {
            "understood": _("Tick the box to confirm you have read what closing means.")
        },
    }[result]
    forms.refuse(CLOSE_FORM, errors, request.form)
    return redirect(url_for("account_changes.close_form"), 303)


@bp.post("/close/cancel")
@login_required
def cancel_closure() -> Response:
    if close_account.cancel(_current_person(), g.sso):
        flash(_("The closure is cancelled. Your account stays open."), "info")
    then = safe_then(request.form.get("then"))
    return redirect(then, 303) if then else _back("#close")


@bp.get("/closing")
@login_required
def closing_notice() -> Response | str:
    """After a sign-in while a closure is pending: keep the account, or go on."""
    person = _current_person()
    then = safe_then(request.args.get("then")) or url_for("account.overview")
    if person.closure_due_at is None:
        return redirect(then, 303)
    return render_template("account_closing.html", due=day(person.closure_due_at), then=then)


def after_sign_in(person_id: str, destination: str) -> str | None:
    """Where a fresh sign-in goes instead of `destination` when the person's account is
    set to close: the page that offers to cancel (then on to `destination`)."""
    person = db.session.get(Person, person_id)
    if person is None or person.closure_due_at is None:
        return None
    return url_for("account_changes.closing_notice", then=destination)


def safe_then(value: str | None) -> str | None:
    """Only a path on this provider: never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None
