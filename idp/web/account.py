"""The account centre (/account): profile, password change, the person's sessions on every
channel and their app devices, connected services; and the page a browser sees once its
session has ended (which loads the RPs' front-channel logout pages)."""

from __future__ import annotations

import secrets
from dataclasses import asdict

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from idp import context
from idp.accounts.models import Person
from idp.accounts.throttle import account_key
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn.devices import Devices
from idp.crypto.passwords import PasswordProblem, PasswordRejectedError
from idp.db import db
from idp.flows import logout
from idp.oidc import frontchannel
from idp.oidc.models import Client, Consent
from idp.oidc.runtime import oidc
from idp.web import forms
from idp.web.account_words import (
    channel_name,
    consent_labels,
    day,
    device_label,
    device_name,
    place,
)
from idp.web.security import allow_frames, end_sso_cookie, login_required

bp = Blueprint("account", __name__, url_prefix="/account")

# What the signed-out page is to load, kept in Redis for the one redirect to it (the
# browser's cookie holds only a random reference; the page is shown once).
SIGNED_OUT_KIND = "signed-out"
SIGNED_OUT_TTL = 300
PASSWORD_FORM = "password-change"  # noqa: S105 - a form's name, not a password
# the forms of account_changes.py drawn on the same page
USERNAME_FORM, PHONE_FORM, DATA_FORM = "username-change", "phone-change", "my-data"


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
    refused = forms.refused_among(PASSWORD_FORM, USERNAME_FORM, PHONE_FORM, DATA_FORM)
    return render_template(
        "account.html",
        consents=consents,
        person=person,
        password_form=refused[PASSWORD_FORM],
        phone=context.accounts().masked_phone(person),
        sessions=context.sessions().list_for_person(person.id),
        current_id=g.sso.id,
        devices=Devices(db.session).of(person.id),
        device_name=device_name,
        device_label=device_label,
        consent_labels=consent_labels,
        channel_name=channel_name,
        place=place,
        day=day,
        username_form=refused[USERNAME_FORM],
        phone_form=refused[PHONE_FORM],
        data_form=refused[DATA_FORM],
    )


@bp.post("/password")
@login_required
def change_password() -> Response:
    person = _current_person()
    accounts, throttle = context.accounts(), context.login_throttle()
    current = request.form.get("current_password", "")
    new, confirm = request.form.get("new_password", ""), request.form.get("confirm_password", "")

    def refused(name: str, message: str) -> Response:
        forms.refuse(PASSWORD_FORM, {name: message}, request.form)
        return redirect(url_for("account.overview") + "#password", 303)

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
        return refused("current_password", _("Your current password is incorrect."))
    throttle.succeeded(attempt)  # the current password was right, whatever follows
    if new != confirm:
        return refused("confirm_password", _("The two new passwords do not match."))
    try:
        accounts.set_password(person, new)
    except PasswordRejectedError as rejected:
        return refused("new_password", password_problem_text(rejected.problem))

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
    return redirect(url_for("account.overview"), 303)


@bp.post("/sessions/<session_id>/end")
@login_required
def end_session(session_id: str) -> Response:
    sso = context.sessions().get(session_id)
    if sso is None or sso.person_id != g.sso.person_id:
        flash(_("That session has already ended."), "info")
        return redirect(url_for("account.overview") + "#sessions", 303)
    if sso.id == g.sso.id:
        frames = frontchannel.targets([sso.id])  # read before its grants go
        logout.sign_out(sso, reason="ended_by_person")
        return _browser_signed_out(frames)
    logout.sign_out(sso, reason="ended_by_person")
    flash(_("The session has been ended."), "info")
    return redirect(url_for("account.overview") + "#sessions", 303)


@bp.post("/sessions/end-others")
@login_required
def end_other_sessions() -> Response:
    """Sign out everywhere else: every other session, and every token not of this one."""
    logout.sign_out_everywhere(g.sso.person_id, keep=g.sso.id, reason="ended_by_person")
    flash(_("All your other sessions have been ended."), "info")
    return redirect(url_for("account.overview") + "#sessions", 303)


@bp.post("/sessions/end-all")
@login_required
def end_all_sessions() -> Response:
    """Sign out everywhere: every session (this one too) and every token of the person;
    each RP hears of it by back-channel, and by front-channel in this browser."""
    person_id = g.sso.person_id
    ended = [s.id for s in context.sessions().list_for_person(person_id)]
    frames = frontchannel.targets(ended)
    logout.sign_out_everywhere(person_id, keep=None, reason="signed_out_everywhere")
    return _browser_signed_out(frames)


@bp.post("/devices/<device_id>/remove")
@login_required
def remove_device(device_id: str) -> Response:
    """The device's key stops working at once (its next proof finds no device); what it
    approved before stays approved."""
    removed = Devices(db.session).remove(g.sso.person_id, device_id)
    if removed is None:
        flash(_("That device has already been removed."), "info")
        return redirect(url_for("account.overview") + "#devices", 303)
    record_event(
        db.session,
        Event.app_device_removed,
        person_id=g.sso.person_id,
        channel=g.sso.channel,
        session_id=g.sso.id,
        detail={"device_id": removed.id, "by": "person"},
    )
    db.session.commit()
    flash(_("%(name)s can no longer approve sign-ins.", name=device_label(removed.name)), "info")
    return redirect(url_for("account.overview") + "#devices", 303)


def _browser_signed_out(frames: list[frontchannel.Target]) -> Response:
    end_sso_cookie()
    session.clear()  # a new CSRF secret for whoever signs in next
    if frames:
        return after_sign_out(frames)
    flash(_("You have signed out."), "info")
    return redirect(url_for("web.login_form"), 303)


def after_sign_out(frames: list[frontchannel.Target], then: str | None = None) -> Response:
    """This browser's session has ended: to the signed-out page, which loads each RP's
    front-channel logout URI in a hidden iframe and then goes on to `then` (a checked
    post_logout_redirect_uri), if any."""
    reference = secrets.token_urlsafe(16)
    kept = {"frames": [asdict(frame) for frame in frames], "then": then}
    context.store().upsert(SIGNED_OUT_KIND, reference, kept, SIGNED_OUT_TTL)
    session["signed_out"] = reference
    return redirect(url_for("account.signed_out"), 303)


@bp.get("/signed-out")
def signed_out() -> str:
    """Shown once per sign-out (a reload shows no iframes: the RPs were told)."""
    reference = session.pop("signed_out", None)
    found = isinstance(reference, str) and context.store().consume(SIGNED_OUT_KIND, reference)
    kept = found or {}
    frames = [frontchannel.Target(**frame) for frame in kept.get("frames", [])]
    allow_frames(frame.origin for frame in frames if frame.origin)
    return render_template("signed_out.html", frames=frames, then=kept.get("then"))


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
