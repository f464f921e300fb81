"""The account centre (/account): profile, password change, and the person's sessions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from idp import context
from idp.accounts.models import Person
from idp.accounts.throttle import account_key
from idp.audit import record_event
from idp.audit.events import Event
from idp.crypto.passwords import PasswordProblem, PasswordRejectedError
from idp.db import db
from idp.flows import logout
from idp.oidc.models import Client, Consent
from idp.oidc.runtime import oidc
from idp.web.security import end_sso_cookie, login_required

bp = Blueprint("account", __name__, url_prefix="/account")


def password_problem_text(problem: PasswordProblem) -> str:
    return {
        PasswordProblem.too_short: _("The password must have at least 8 characters."),
        PasswordProblem.too_long: _("The password is too long (at most 1024 characters)."),
        PasswordProblem.common: _(
            "This password is too common and easy to guess. Choose another one."
        ),
        PasswordProblem.contains_identifier: _(
            "The password must not contain your account name or phone number."
        ),
    }[problem]


def _current_person() -> Person:
    person = db.session.get(Person, g.sso.person_id)
    if person is None or not person.active:
        logout.sign_out(g.sso, reason="account_inactive")
        abort(403)
    return person


@bp.get("")
@login_required
def overview() -> str:
    person = _current_person()
    consents = db.session.execute(
        select(Consent, Client.name)
        .join(Client, Client.client_id == Consent.client_id)
        .where(Consent.person_id == person.id)
        .order_by(Consent.created_at)
    ).all()
    return render_template(
        "account.html",
        consents=consents,
        person=person,
        phone=context.accounts().masked_phone(person),
        sessions=context.sessions().list_for_person(person.id),
        current_id=g.sso.id,
    )


@bp.post("/password")
@login_required
def change_password() -> Response:
    person = _current_person()
    accounts, throttle = context.accounts(), context.login_throttle()
    current = request.form.get("current_password", "")
    new, confirm = request.form.get("new_password", ""), request.form.get("confirm_password", "")
    back = redirect(url_for("account.overview") + "#password", 303)

    key = account_key(person.id, "")
    attempt = throttle.attempt(key, request.remote_addr)
    if not accounts.check_password(person, current):
        throttle.failed(attempt)
        record_event(
            db.session,
            Event.password_change_failed,
            person_id=person.id,
            channel=g.sso.channel,
            session_id=g.sso.id,
        )
        db.session.commit()
        flash(_("Your current password is incorrect."), "error")
        return back
    throttle.succeeded(attempt)  # the current password was right, whatever follows
    if new != confirm:
        flash(_("The two new passwords do not match."), "error")
        return back
    try:
        accounts.set_password(person, new)
    except PasswordRejectedError as rejected:
        flash(password_problem_text(rejected.problem), "error")
        return back

    record_event(
        db.session,
        Event.password_changed,
        person_id=person.id,
        channel=g.sso.channel,
        session_id=g.sso.id,
    )
    db.session.commit()
    if request.form.get("sign_out_here") == "yes":
        logout.sign_out(g.sso, reason="password_changed")  # its RPs hear of it first
        logout.after_password_change(person.id, keep=None, reason="password_changed")
        end_sso_cookie()
        flash(_("Your password has been changed. Sign in with the new password."), "info")
        return redirect(url_for("web.login_form"), 303)
    logout.after_password_change(person.id, keep=g.sso.id, reason="password_changed")
    flash(_("Your password has been changed. Your other sessions were signed out."), "info")
    return back


@bp.post("/sessions/<session_id>/end")
@login_required
def end_session(session_id: str) -> Response:
    sso = context.sessions().get(session_id)
    if sso is None or sso.person_id != g.sso.person_id:
        flash(_("That session has already ended."), "info")
        return redirect(url_for("account.overview") + "#sessions", 303)
    logout.sign_out(sso, reason="ended_by_person")
    if sso.id == g.sso.id:
        end_sso_cookie()
        return redirect(url_for("web.login_form"), 303)
    flash(_("The session has been ended."), "info")
    return redirect(url_for("account.overview") + "#sessions", 303)


@bp.post("/sessions/end-others")
@login_required
def end_other_sessions() -> Response:
    logout.sign_out_others(g.sso.person_id, keep=g.sso.id, reason="ended_by_person")
    flash(_("All your other sessions have been ended."), "info")
    return redirect(url_for("account.overview") + "#sessions", 303)


@bp.post("/consents/<client_id>/withdraw")
@login_required
def withdraw_consent(client_id: str) -> Response:
    """Withdraw a service's access: the consent goes and so do its live tokens."""
    consent = db.session.scalar(
        select(Consent).where(Consent.person_id == g.sso.person_id, Consent.client_id == client_id)
    )
    if consent is not None:
        client = db.session.get(Client, client_id)
        db.session.delete(consent)
        revoked = oidc().artifacts.revoke_person_client_grants(g.sso.person_id, client_id)
        record_event(
            db.session,
            Event.consent_withdrawn,
            person_id=g.sso.person_id,
            channel=g.sso.channel,
            session_id=g.sso.id,
            detail={"client_id": client_id, "grants_revoked": revoked},
        )
        db.session.commit()
        flash(
            _("Access for %(name)s has been withdrawn.", name=client.name if client else client_id),
            "info",
        )
    return redirect(url_for("account.overview") + "#consents", 303)
