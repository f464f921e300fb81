"""Pages of an authentication transaction, whatever protocol started it: each outcome of
idp/authn becomes a page or a redirect, and a finished (or refused) transaction goes to
the protocol that answers it (`PROTOCOLS`). Steps hand back by transaction id.

Every POST answers with a redirect: a page still to show is reached by GET
/signin/<id>, which can be reloaded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, g, redirect, render_template, request, url_for
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
from idp.web import error_pages
from realname.agents import memberships_for

bp = Blueprint("signin", __name__)

Page = Response | tuple[str, int]


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


def start(txn: Transaction, sso: SsoSession | None = None, *, posted: bool = False) -> Page:
    """A new transaction: the first decision (with this browser's session, or `sso` just
    made), answered as a page or a redirect."""
    sso = sso or g.sso
    return answer(advance(Transactions(context.store()), txn, sso, db.session), posted=posted)


def answer(outcome: Outcome | Answer, *, posted: bool = False) -> Page:
    """The response for an outcome. After a POST (`posted`), a page to show is redirected
    to, so that Back and Refresh never resend the form."""
    if isinstance(outcome, Ready):
        outcome = PROTOCOLS[outcome.txn.protocol].complete(outcome)
    elif isinstance(outcome, Refused):
        outcome = PROTOCOLS[outcome.txn.protocol].refuse(
            outcome.txn, outcome.refusal, outcome.reason
        )
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


def _show(txn: Transaction, step: Step) -> Page:
    if step is Step.choose_act_for:
        person = db.session.get(Person, g.sso.person_id)
        options = memberships_for(db.session, person) if person else []
        return render_template(
            "act_for.html", flow_id=txn.id, client=txn.requester, options=options
        ), 200
    release = release_for(txn.requester, txn.scopes, txn.claims)
    return render_template(
        "consent.html",
        flow_id=txn.id,
        client=txn.requester,
        scopes=release.scopes,
        claims=sorted(release.claims - {"sub"}),
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
        return error_page("expired", "the sign-in took too long; start again from the service")
    return answer(advance(txns, txn, sso or g.sso, db.session), posted=posted)


@bp.get("/signin/<txn_id>")
def resume(txn_id: str) -> Page:
    return resume_by_id(txn_id)


@bp.post("/signin/<txn_id>/act-for")
def choose_act_for(txn_id: str) -> Page:
    return answer(act_for.choose(txn_id, g.sso, request.form.get("act_for", "")), posted=True)


@bp.post("/signin/<txn_id>/consent")
def decide_consent(txn_id: str) -> Page:
    return answer(consent.decide(txn_id, g.sso, request.form.get("decision", "")), posted=True)
