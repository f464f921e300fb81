"""The face check page (/account/face): a step-up a transaction asked for, or a real-person
verification the person chose in the account centre; for a transaction, also an approval
in the official app (/account/face/app/...), which the page waits for. The step is
idp/flows/step_up.py."""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from idp import context
from idp.accounts.models import Person
from idp.authn import Transactions, methods
from idp.authn.devices import Devices
from idp.authn.transaction import State
from idp.db import db
from idp.flows import step_up
from idp.flows.step_up import AppState
from idp.web import finished, forms
from idp.web.forms import WHOLE_FORM
from idp.web.register import attempts
from idp.web.security import login_required
from idp.web.transactions import EXPIRED, Page, error_page, gone, resume_by_id
from realname.proofing import FaceOutcome

bp = Blueprint("step_up", __name__)
FACE_FORM = "face"
APP_ASKED = "step_up_app"  # the request this browser sent to the app, and its sign-in


@bp.get("/account/face")
@login_required
def face_form() -> Page:
    txn_id = request.args.get("txn")
    done = finished.recall(txn_id)
    if done is not None:  # Back to the step-up of a sign-in this browser finished
        return finished.page(done)
    return _face_page(txn_id)


def _face_page(txn_id: str | None, error: str | None = None, status: int = 200) -> Page:
    person = db.session.get(Person, g.sso.person_id)
    has_app = bool(txn_id) and bool(Devices(db.session).of(g.sso.person_id))
    page = render_template(
        "face.html",
        person=person,
        txn_id=txn_id,
        error=error,
        has_app=has_app,
        form=forms.refused(FACE_FORM),
    )
    return page, status


@bp.post("/account/face")
@login_required
def face() -> Page:
    """The mobile app posts a live image and its liveness token here (实人核验)."""
    person = db.session.get(Person, g.sso.person_id)
    assert person is not None
    txn_id = request.form.get("txn")
    outcome, raised = step_up.with_face(
        g.sso,
        person,
        image_b64=request.form.get("image", ""),
        liveness_token=request.form.get("liveness_token", ""),
        attempts=attempts(),
    )
    if outcome is FaceOutcome.verified:
        if txn_id and raised is not None:
            return resume_by_id(txn_id, raised, posted=True)
        flash(_("Face verification succeeded. Your assurance level is now 4."), "info")
        return redirect(url_for("account.overview"), 303)
    messages = {
        FaceOutcome.needs_real_name: _("Verify your real name first."),
        FaceOutcome.not_live: _("The liveness check failed. Please try again in good light."),
        FaceOutcome.mismatch: _("The face does not match the registry photo."),
        FaceOutcome.unavailable: _(
            "The face service is not answering right now. Nothing has "
            "been changed; please try again later."
        ),
        FaceOutcome.too_many_attempts: _(
            "Too many face checks today. Nothing was checked this time; please try again tomorrow."
        ),
    }
    # Said on the page drawn again (POST/redirect/GET): Refresh sends no image twice.
    forms.refuse(FACE_FORM, {WHOLE_FORM: messages[outcome]}, {})
    return redirect(url_for("step_up.face_form", txn=txn_id or None), 303)


@bp.post("/account/face/app")
@login_required
def ask_app() -> Page:
    """Send the step-up a transaction waits for to the person's app."""
    txn_id = request.form.get("txn", "")[:64]
    txn = Transactions(context.store()).find(txn_id) if txn_id else None
    if txn is None and finished.recall(txn_id) is not None:  # sent again, after the end
        return gone(txn_id, posted=True)
    if txn is None or txn.state is not State.stepping_up:
        return error_page("expired", EXPIRED)
    approval = step_up.ask_app(g.sso, txn)
    session[APP_ASKED] = [approval.id, txn.id]
    return redirect(url_for("step_up.app_waiting", approval_id=approval.id), 303)


def _finished_by_app(approval_id: str) -> finished.Finished | None:
    """The sign-in that the request `approval_id`, sent to the app from this browser,
    was for, if it is finished (Back to the waiting page afterwards)."""
    asked = session.get(APP_ASKED)
    if isinstance(asked, list) and len(asked) == 2 and asked[0] == approval_id:
        return finished.recall(str(asked[1]))
    return None


@bp.get("/account/face/app/<approval_id>")
@login_required
def app_waiting(approval_id: str) -> Page:
    state, txn_id = step_up.app_state(g.sso, approval_id)
    done = _finished_by_app(approval_id) if state is AppState.gone else None
    if done is not None:
        return finished.page(done)
    if state is AppState.gone:
        return _face_page(txn_id, _("The request to your app has expired. Send a new one."), 410)
    person = db.session.get(Person, g.sso.person_id)
    page = render_template("face.html", person=person, txn_id=txn_id, approval_id=approval_id)
    return page, 200


@bp.get("/account/face/app/<approval_id>/status")
@login_required
def app_status(approval_id: str) -> Response:
    """What the waiting page polls: waiting, approved, denied or gone."""
    state, _txn = step_up.app_state(g.sso, approval_id)
    return jsonify(state=state.value)


@bp.post("/account/face/app/<approval_id>/finish")
@login_required
def app_finish(approval_id: str) -> Page:
    person = db.session.get(Person, g.sso.person_id)
    assert person is not None
    done = step_up.finish_app(g.sso, person, approval_id)
    state, txn_id = done.state, done.txn_id
    if state is AppState.waiting:
        flash(_("Your app has not answered yet. Approve the request in the app."), "info")
        return redirect(url_for("step_up.app_waiting", approval_id=approval_id), 303)
    if state is AppState.approved and txn_id:
        if methods.FACE.amr not in done.amr:
            flash(_("The app approved without a face check, which this service needs."), "error")
        return resume_by_id(txn_id, done.sso, posted=True)
    if state is AppState.denied:
        flash(_("The request was declined in the app."), "error")
    elif _finished_by_app(approval_id) is not None:  # pressed again after the end
        return redirect(url_for("step_up.app_waiting", approval_id=approval_id), 303)
    else:
        flash(_("The request to your app has expired. Send a new one."), "error")
    if txn_id:
        return redirect(url_for("step_up.face_form", txn=txn_id), 303)
    return redirect(url_for("account.overview"), 303)
