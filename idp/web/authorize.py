"""Pages of the authorization endpoint (/authorize) and RP-initiated logout (/end_session).
The request becomes an authentication transaction (idp/oidc/authorize.py); its pages are
idp/web/transactions.py."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from idp.authn.answers import SendTo, ShowError
from idp.oidc import authorize, end_session
from idp.web import account
from idp.web.error_pages import request_refused
from idp.web.security import end_sso_cookie
from idp.web.transactions import Page, answer, start

bp = Blueprint("authorize", __name__)


@bp.get("/authorize")
def receive() -> Page:
    received = authorize.receive(request.values)
    if isinstance(received, SendTo | ShowError):
        return answer(received)
    return start(received)  # act-for and consent: at /signin/<id>, see start()


@bp.post("/authorize")
def start_posted() -> Response:
    """OIDC Core 3.1.2.1: the authorization request as a form POST, usually an RP's
    auto-submitted form, so a cross-site navigation: the SSO cookie (SameSite=Lax) is not
    sent with it. The browser is sent on to the same request as a GET, which carries the
    cookie and gets the very same validation, repeated-parameter refusal (query and body
    parameters are all passed on), sign-in and consent.

    Exempt from the CSRF check (app.py): this answer reads no cookie and changes nothing,
    so a forged POST gets no more than a link to GET /authorize would. The act-for and
    consent forms that follow keep their CSRF tokens."""
    query = urlencode(list(request.values.items(multi=True)))
    return redirect(url_for("authorize.receive") + (f"?{query}" if query else ""), 303)


@bp.route("/end_session", methods=["GET", "POST"])
def end() -> Response | tuple[str, int]:
    outcome = end_session.handle(request, g.sso)
    if isinstance(outcome, end_session.Confirm):
        return render_template(
            "end_session.html", params=outcome.params, client_name=outcome.client_name
        ), 200
    if isinstance(outcome, end_session.Refuse):
        client_id = request.values.get("client_id")
        return request_refused("invalid_request", outcome.reason, client_id, said="logout_refused")
    if outcome.signed_out:
        end_sso_cookie()
    if outcome.frames:  # the RPs' front-channel logout pages, then on to the location
        return account.after_sign_out(outcome.frames, then=outcome.location)
    if outcome.location:
        return redirect(outcome.location, 303)
    return render_template("signed_out.html"), 200
