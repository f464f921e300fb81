"""The verification page of the device grant ({issuer}/device, RFC 8628 3.3): the person
types the code a kiosk or TV shows, confirms who asks, and signs in as for any service.
No script is needed; every step is a form, and every form answers with a redirect (a
refused code is said on the page drawn again, the code typed kept), so Refresh never
types a code twice. The steps are idp/flows/device.py."""

from __future__ import annotations

import secrets

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from idp.authn import Halted
from idp.flows import device
from idp.web import forms
from idp.web.transactions import Page, error_page, start

bp = Blueprint("device", __name__)

UNLOCKED = "device_approval"  # the request whose code this browser typed rightly
BROWSER = "device_browser"  # who typed the wrong codes, besides their address
STARTED = "device_txn"  # the sign-in this browser's confirmation started
FORM = "device-code"


@bp.get("/device")
def code_form() -> Page:
    state = forms.refused(FORM)
    if device.blocked(browser=_browser(), address=request.remote_addr):
        return render_template("device.html", form=state, blocked=_blocked_text()), 429
    typed = request.args.get("user_code", "")[: device.MAX_TYPED]
    return render_template("device.html", form=state, user_code=typed), 200


def _blocked_text() -> str:
    return _(
        "Too many wrong codes were typed here. For your safety this page takes no "
        "codes for the next 10 minutes; start again on the device after that."
    )


@bp.post("/device")
def check_code() -> Page:
    typed = request.form.get("user_code", "")
    found = device.look_up(typed, browser=_browser(), address=request.remote_addr)
    if isinstance(found, device.Blocked):
        return redirect(url_for("device.code_form"), 303)  # the page says why
    if isinstance(found, device.Wrong):
        message = _(
            "No request is waiting with this code. Check the code on the device's screen "
            "(it is valid for 10 minutes). Tries left: %(n)d.",
            n=found.tries_left,
        )
        forms.refuse(FORM, {"user_code": message}, {"user_code": typed[:20]})
        return redirect(url_for("device.code_form"), 303)
    session[UNLOCKED] = found.approval.id
    return redirect(url_for("device.confirm_form"), 303)


@bp.get("/device/confirm")
def confirm_form() -> Page:
    """Who asks and what it will read, for the code this browser typed rightly; once
    confirmed (Back to this page), that the step is done."""
    shown = device.showing(session.get(UNLOCKED))
    if shown is None:  # confirmed already: where that sign-in stands (or done)
        started = session.get(STARTED)
        if isinstance(started, str):
            return redirect(url_for("signin.resume", txn_id=started), 303)
        return redirect(url_for("device.code_form"), 303)
    release = shown.release
    return render_template(
        "device.html",
        confirming=True,
        client=shown.requester,
        scopes=release.scopes,
        claims=sorted(release.claims - {"sub"}),
    ), 200


@bp.post("/device/confirm")
def confirm() -> Page:
    approval_id = session.pop(UNLOCKED, None)
    if approval_id is None and isinstance(session.get(STARTED), str):  # confirmed already
        return redirect(url_for("device.confirm_form"), 303)
    if request.form.get("decision") != "continue":
        device.decline(approval_id, g.sso)
        return redirect(device.DONE_PATH + "?declined=1", 303)
    txn = device.begin(approval_id)
    if isinstance(txn, Halted):
        return error_page(txn.error, txn.description)
    session[STARTED] = txn.id
    return start(txn)


@bp.get(device.DONE_PATH)
def done() -> Page:
    return render_template("device_done.html", declined=bool(request.args.get("declined"))), 200


def _browser() -> str:
    """This browser's mark in its (signed) session cookie: wrong codes are counted by it
    and by the address, so neither a new cookie nor a new address starts afresh alone."""
    mark = session.get(BROWSER)
    if not isinstance(mark, str):
        mark = session[BROWSER] = secrets.token_urlsafe(12)
    return mark
