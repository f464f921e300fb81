"""The face check page (/account/face): a step-up a transaction asked for, or a real-person
verification the person chose in the account centre. The step is idp/flows/step_up.py."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from idp.accounts.models import Person
from idp.db import db
from idp.flows import step_up
from idp.web.register import attempts
from idp.web.security import login_required
from idp.web.transactions import Page, resume_by_id
from realname.proofing import FaceOutcome

bp = Blueprint("step_up", __name__)


@bp.get("/account/face")
@login_required
def face_form() -> str:
    person = db.session.get(Person, g.sso.person_id)
    return render_template("face.html", person=person, txn_id=request.args.get("txn"))


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
    status = {FaceOutcome.unavailable: 503, FaceOutcome.too_many_attempts: 429}.get(outcome, 400)
    return render_template(
        "face.html", person=person, error=messages[outcome], txn_id=txn_id
    ), status
