"""The verification page of the device grant ({issuer}/device, RFC 8628 3.3): the person
types the code a kiosk or TV shows, confirms who asks, and signs in as for any service.
No script is needed; every step is a form. The steps are idp/flows/device.py."""

from __future__ import annotations

import secrets

from flask import Blueprint, g, redirect, render_template, request, session
from flask_babel import gettext as _

from idp.authn import Halted
from idp.flows import device
from idp.web.transactions import Page, error_page, start

bp = Blueprint("device", __name__)

UNLOCKED = "device_approval"  # the request whose code this browser typed rightly
BROWSER = "device_browser"  # who typed the wrong codes, besides their address


@bp.get("/device")
def code_form() -> Page:
    typed = request.args.get("user_code", "")[: device.MAX_TYPED]
    return render_template("device.html", user_code=typed), 200


@bp.post("/device")
def check_code() -> Page:
    typed = request.form.get("user_code", "")
    found = device.look_up(typed, browser=_browser(), address=request.remote_addr)
    if isinstance(found, device.Blocked):
        message = _(
            "Too many wrong codes were typed here. For your safety this page takes no "
            "codes for the next 10 minutes; start again on the device after that."
        )
        return render_template("device.html", error=message, blocked=True), 429
    if isinstance(found, device.Wrong):
        message = _(
            "No request is waiting with this code. Check the code on the device's screen "
            "(it is valid for 10 minutes). Tries left: %(n)d.",
            n=found.tries_left,
        )
        return render_template("device.html", error=message, user_code=typed[:20]), 400
    session[UNLOCKED] = found.approval.id
    release = found.release
    return render_template(
        "device.html",
        confirming=True,
        client=found.requester,
        scopes=release.scopes,
        claims=sorted(release.claims - {"sub"}),
    ), 200


@bp.post("/device/confirm")
def confirm() -> Page:
    approval_id = session.pop(UNLOCKED, None)
    if request.form.get("decision") != "continue":
        device.decline(approval_id, g.sso)
        return redirect(device.DONE_PATH + "?declined=1", 303)
    txn = device.begin(approval_id)
    if isinstance(txn, Halted):
        return error_page(txn.error, txn.description)
    return start(txn, posted=True)


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
