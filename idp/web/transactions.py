"""Pages of an authentication transaction, whatever protocol started it: each outcome of
idp/authn becomes a page or a redirect, and a finished (or refused) transaction goes to
the protocol that answers it (`PROTOCOLS`). Steps hand back by transaction id.

Every POST answers with a redirect: a page still to show is reached by GET
/signin/<id>, which can be reloaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp import context
from idp.accounts.models import Person
from idp.accounts.sessions import SsoSession
from idp.authn import Halted, Outcome, Ready, Refused, Transactions, advance
from idp.authn.answers import Answer, SendTo, ShowError
from idp.authn.policy import Refusal, Step
from idp.authn.release import release_for
from idp.authn.transaction import Kind, Requester, Transaction
from idp.db import db
from idp.flows import act_for, consent, device
from idp.oidc import authorize as oidc_authorize
from idp.web import error_pages, finished, forms
from realname.agents import memberships_for

bp = Blueprint("signin", __name__)

Page = Response | tuple[str, int]
ACT_FOR_FORM = "act-for"
CONSENT_FORM = "consent"


@dataclass(frozen=True)
class Protocol:
    complete: Callable[[Ready], Answer]
    refuse: Callable[[Transaction, Refusal, str], Answer]


# The account centre's own sign-in: the person asked for a page of ours, and goes there.
ACCOUNT_CENTRE = Requester(id="account", name="account", first_party=True)


def _account_complete(ready: Ready) -> Answer:
    txn = Transactions(context.store()).consume(ready.txn.id)
    if txn is None:
        return ShowError("expired", "this sign-in has already been completed")
    return SendTo(str(txn.reference["next"]))


def _account_refuse(txn: Transaction, refusal: Refusal, reason: str) -> Answer:
    Transactions(context.store()).consume(txn.id)
    return ShowError(refusal.value, reason)


PROTOCOLS: dict[str, Protocol] = {
    oidc_authorize.PROTOCOL: Protocol(oidc_authorize.complete, oidc_authorize.refuse),
    "account": Protocol(_account_complete, _account_refuse),
    device.PROTOCOL: Protocol(device.complete, device.refuse),  # typed at /device
}


def account_sign_in(destination: str) -> Transaction:
    """A transaction for a sign-in that no service asked for (the account centre)."""
    return Transaction(
        kind=Kind.sign_in,
        requester=ACCOUNT_CENTRE,
        protocol="account",
        reference={"next": destination},
    )


def start(txn: Transaction, sso: SsoSession | None = None) -> Page:
    """A new transaction: the first decision (with this browser's session, or `sso` just
    made), answered by a redirect. A step page is reached at GET /signin/<id>, never drawn
    in place: Back from the service then finds that page, which says the step is done,
    instead of the request (or the form) that would start a new sign-in."""
    sso = sso or g.sso
    return answer(advance(Transactions(context.store()), txn, sso, db.session), posted=True)


def answer(outcome: Outcome | Answer, *, posted: bool = False) -> Page:
    """The response for an outcome. After a POST (`posted`), a page to show is redirected
    to, so that Back and Refresh never resend the form."""
    if isinstance(outcome, Ready | Refused):
        return _answered(outcome)
    if isinstance(outcome, SendTo):
        return redirect(outcome.location, 303)
    if isinstance(outcome, ShowError | Halted):
        return error_page(outcome.error, outcome.description)
    txn = outcome.txn
    if outcome.step is Step.sign_in:
        return redirect(
            url_for("web.login_form", txn=txn.id, switch=1, login_hint=txn.login_hint), 303
        )
    if outcome.step is Step.step_up:
        return redirect(url_for("step_up.face_form", txn=txn.id), 303)
    if outcome.step is Step.accept_agreement:
        return redirect(url_for("register.accept_agreement", txn=txn.id), 303)
    if posted:
        return redirect(url_for("signin.resume", txn_id=txn.id), 303)
    return _show(txn, outcome.step)


def _answered(outcome: Ready | Refused) -> Page:
    """The protocol answers a finished transaction; Back and Refresh on its pages in this
    browser will say it is done (idp/web/finished.py), not that it expired."""
    txn = outcome.txn
    if isinstance(outcome, Ready):
        answered = PROTOCOLS[txn.protocol].complete(outcome)
    else:
        answered = PROTOCOLS[txn.protocol].refuse(txn, outcome.refusal, outcome.reason)
    if isinstance(answered, SendTo):
        if not txn.passive:  # prompt=none showed no page to come back to
            finished.remember(txn, declined=isinstance(outcome, Refused))
        return redirect(answered.location, 303)
    done = finished.recall(txn.id)  # answered meanwhile, in another tab of this browser
    if done is not None:
        return finished.page(done)
    return error_page(answered.error, answered.description)


def _show(txn: Transaction, step: Step) -> Page:
    if step is Step.choose_act_for:
        person = db.session.get(Person, g.sso.person_id)
        options = memberships_for(db.session, person) if person else []
        return render_template(
            "act_for.html",
            flow_id=txn.id,
            client=txn.requester,
            options=options,
            form=forms.refused(ACT_FOR_FORM),
        ), 200
    release = release_for(txn.requester, txn.scopes, txn.claims)
    return render_template(
        "consent.html",
        flow_id=txn.id,
        client=txn.requester,
        scopes=release.scopes,
        claims=sorted(release.claims - {"sub"}),
        form=forms.refused(CONSENT_FORM),
    ), 200


def error_page(error: str, description: str) -> tuple[str, int]:
    """What happened in the person's words, the code in small print, a way back."""
    return error_pages.request_refused(error, description)


def resume_by_id(txn_id: str, sso: SsoSession | None = None, *, posted: bool = False) -> Page:
    """Go on with transaction `txn_id` in this browser's session (or `sso`, just made):
    a step was done."""
    txns = Transactions(context.store())
    txn = txns.find(txn_id)
    if txn is None:
        return gone(txn_id, posted=posted)
    return answer(advance(txns, txn, sso or g.sso, db.session), posted=posted)


def gone(txn_id: str, *, posted: bool = False) -> Page:
    """A page of transaction `txn_id`, which is no longer stored: finished in this browser
    (said so, with a way on to the service) or expired (said so, in plain words). After a
    POST, the page that says it is reached by GET."""
    if posted:
        return redirect(url_for("signin.resume", txn_id=txn_id), 303)
    done = finished.recall(txn_id)
    if done is None:
        return error_page("expired", EXPIRED)
    return finished.page(done)


EXPIRED = "the sign-in took too long; start again from the service"


def _step_answered(txn_id: str, outcome: Outcome, form: str) -> Page:
    """The answer to a posted step. A step sent again (Back to it, then its form once
    more) changes nothing: the person is shown where the sign-in stands now (the next
    step, or that it is done), not an error. A choice refused is said on the step's page
    drawn again, next to the choice."""
    if isinstance(outcome, Halted) and outcome.error == "invalid_request" and form == ACT_FOR_FORM:
        message = _("You cannot act for that organisation (any more). Choose again.")
        forms.refuse(form, {"act_for": message}, {})
        return redirect(url_for("signin.resume", txn_id=txn_id), 303)
    if isinstance(outcome, Halted) and outcome.error == "expired":
        txn = Transactions(context.store()).find(txn_id)
        if txn is None or (g.sso is not None and txn.session_id == g.sso.id):
            return redirect(url_for("signin.resume", txn_id=txn_id), 303)
    return answer(outcome, posted=True)


@bp.get("/signin/<txn_id>")
def resume(txn_id: str) -> Page:
    return resume_by_id(txn_id)


@bp.post("/signin/<txn_id>/act-for")
def choose_act_for(txn_id: str) -> Page:
    chosen = act_for.choose(txn_id, g.sso, request.form.get("act_for", ""))
    return _step_answered(txn_id, chosen, ACT_FOR_FORM)


@bp.post("/signin/<txn_id>/consent")
def decide_consent(txn_id: str) -> Page:
    decided = consent.decide(txn_id, g.sso, request.form.get("decision", ""))
    return _step_answered(txn_id, decided, CONSENT_FORM)
