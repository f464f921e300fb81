"""Pages of the authorization endpoint: /authorize, its resumption after sign-in, the
consent page, and RP-initiated logout (/end_session). The logic lives in the flows."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from idp.accounts.sessions import SsoSession
from idp.flows import authorize, end_session
from idp.web.security import end_sso_cookie

bp = Blueprint("authorize", __name__)


def _render(outcome: authorize.Outcome) -> Response | tuple[str, int]:
    if isinstance(outcome, authorize.SendTo):
        return redirect(outcome.location, 303)
    if isinstance(outcome, authorize.SignIn):
        resume = url_for("authorize.resume", flow_id=outcome.flow_id)
        return redirect(
            url_for("web.login_form", next=resume, switch=1, login_hint=outcome.login_hint), 303
        )
    if isinstance(outcome, authorize.StepUp):
        resume = url_for("authorize.resume", flow_id=outcome.flow_id)
        return redirect(url_for("register.face_form", next=resume), 303)
    if isinstance(outcome, authorize.AcceptAgreement):
        resume = url_for("authorize.resume", flow_id=outcome.flow_id)
        return redirect(url_for("register.accept_agreement", next=resume), 303)
    if isinstance(outcome, authorize.ChooseActFor):
        return render_template(
            "act_for.html", flow_id=outcome.flow_id, client=outcome.client, options=outcome.options
        ), 200
    if isinstance(outcome, authorize.AskConsent):
        return render_template(
            "consent.html",
            flow_id=outcome.flow_id,
            client=outcome.client,
            scopes=outcome.scopes,
            claims=outcome.claims,
        ), 200
    return render_template(
        "error.html",
        status=400,
        title=_("The request cannot be completed"),
        message=_(
            "The service that sent you here made a request we cannot "
            "accept (%(error)s: %(description)s). Go back to the "
            "service and try again.",
            error=outcome.error,
            description=outcome.description,
        ),
    ), 400


@bp.get("/authorize")
def start() -> Response | tuple[str, int]:
    return _render(authorize.receive(request, g.sso))


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
    return redirect(url_for("authorize.start") + (f"?{query}" if query else ""), 303)


@bp.get("/authorize/resume/<flow_id>")
def resume(flow_id: str) -> Response | tuple[str, int]:
    return _render(authorize.resume(flow_id, g.sso))


def continue_after_sign_in(next_url: str, sso: SsoSession) -> Response | None:
    """For POST /login: when `next_url` resumes an authorization request that needs
    nothing more from the person, send the browser straight back to the RP with the
    code (one redirect fewer). None otherwise: the browser then follows `next_url`, and
    the resume step shows the page the person still has to see, as it would have."""
    try:
        endpoint, args = current_app.url_map.bind("").match(next_url.split("?")[0], "GET")
    except HTTPException:
        return None
    if endpoint != "authorize.resume":
        return None
    outcome = authorize.resume(args["flow_id"], sso)
    return redirect(outcome.location, 303) if isinstance(outcome, authorize.SendTo) else None


@bp.post("/authorize/act-for/<flow_id>")
def act_for(flow_id: str) -> Response | tuple[str, int]:
    return _render(authorize.choose(flow_id, g.sso, request.form.get("act_for", "")))


@bp.post("/authorize/consent/<flow_id>")
def consent(flow_id: str) -> Response | tuple[str, int]:
    return _render(authorize.decide(flow_id, g.sso, request.form.get("decision", "")))


@bp.route("/end_session", methods=["GET", "POST"])
def end() -> Response | tuple[str, int]:
    outcome = end_session.handle(request, g.sso)
    if isinstance(outcome, end_session.Confirm):
        return render_template(
            "end_session.html", params=outcome.params, client_name=outcome.client_name
        ), 200
    if isinstance(outcome, end_session.Refuse):
        return render_template(
            "error.html", status=400, title=_("Sign-out request refused"), message=outcome.reason
        ), 400
    if outcome.signed_out:
        end_sso_cookie()
    if outcome.location:
        return redirect(outcome.location, 303)
    return render_template("signed_out.html"), 200
