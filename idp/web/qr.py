"""QR sign-in, the browser's side (/qr): the code's image, the state the page asks for
every second, and the finishing step. The steps live in idp/flows/qr_login.py.

A browser is known by a random secret in its own cookie (`idp_qr`); a ticket keeps only
the secret's hash, and every answer about a ticket (its image, its state, finishing it)
is given only to the browser that showed it.
"""

from __future__ import annotations

import io
import secrets
from typing import Any

import segno
from flask import (
    Blueprint,
    after_this_request,
    flash,
    g,
    redirect,
    render_template,
    request,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp import context
from idp.channels.location import rough_location
from idp.flows import qr_login
from idp.web.sign_in import hand_off, login_again
from idp.web.transactions import Page

bp = Blueprint("qr", __name__)

BROWSER_COOKIE = "idp_qr"
OPEN = (qr_login.State.pending, qr_login.State.scanned, qr_login.State.approved)


def panel(txn_id: str | None, next_url: str | None, shown: str | None) -> dict[str, Any]:
    """What the sign-in page's QR tab shows: the ticket this browser showed before
    (`shown`), as it is now, or a new one."""
    browser = _browser(create=True)
    if shown:
        ticket = qr_login.again(shown, browser)
        if ticket is None:
            return {"state": qr_login.State.expired}
        return {"state": ticket.state, "ticket": ticket}
    made = qr_login.show(
        txn_id=txn_id,
        next_url=next_url,
        browser=browser,
        location=rough_location(request.remote_addr),
        ip=request.remote_addr,
    )
    if isinstance(made, qr_login.Refused):
        return {"state": qr_login.State.expired, "problem": made.problem}
    return {"state": made.state, "ticket": made}


@bp.get("/qr/<approval_id>")
def scanned_elsewhere(approval_id: str) -> str:
    """What a phone's own camera opens: the code is for the official app."""
    return render_template(
        "error.html",
        status=200,
        title=_("Scan this code with the official app"),
        message=_(
            "This QR code signs you in on a computer. Open the official app, tap Scan, "
            "and scan the code on the computer's screen."
        ),
    )


@bp.get("/qr/<approval_id>/image.svg")
def image(approval_id: str) -> Response:
    ticket = qr_login.again(approval_id, _browser())
    if ticket is None:
        return Response(status=404)
    svg = io.BytesIO()
    segno.make(ticket.payload, error="m", micro=False).save(
        svg, kind="svg", scale=6, border=4, dark="#000", light="#fff", title="QR"
    )
    return Response(svg.getvalue(), mimetype="image/svg+xml")


@bp.get("/qr/<approval_id>/status")
def status(approval_id: str) -> tuple[dict[str, str], int]:
    state = qr_login.status(approval_id, _browser())
    if state is None:
        return {"state": qr_login.State.expired.value}, 404
    return {"state": state.value}, 200


@bp.post("/qr/<approval_id>/finish")
def finish(approval_id: str) -> Page:
    result = qr_login.finish(
        approval_id, _browser(), ip=request.remote_addr, user_agent=request.user_agent.string
    )
    if isinstance(result, qr_login.Finished):
        return hand_off(
            result.token, result.session, txn_id=result.txn_id, next_url=result.next_url
        )
    if result.problem in OPEN:
        flash(_("Not confirmed on the phone yet. Confirm in the app, then try again."), "error")
    return redirect(login_again(request.form, method="qr", qr=approval_id), 303)


def _browser(*, create: bool = False) -> str:
    """This browser's secret; a new one (and its cookie) when it has none and `create`."""
    known = request.cookies.get(BROWSER_COOKIE, "")
    if 32 <= len(known) <= 64:
        return known
    if not create:
        return ""
    if "qr_browser" in g:  # made earlier in this request
        return str(g.qr_browser)
    g.qr_browser = made = secrets.token_urlsafe(32)
    secure = context.settings().secure_cookies

    @after_this_request
    def remember(response: Response) -> Response:
        response.set_cookie(
            BROWSER_COOKIE, made, httponly=True, samesite="Lax", secure=secure, path="/"
        )
        return response

    return made
