"""Step-up by face (实人核验): a signed-in person proves, with a live face matched to the
registry photo, a level their session does not have yet.

    live image + liveness token
        -> [real-person check passes?] (realname/proofing.py: loa:3 first, tries limited,
           the registry photo, the face service) --no--> the reason, session unchanged
        -> the person's level is at least loa:4; the session gains amr `face` and the
           level a face check gives (idp/authn/methods.py), atomically
        -> a transaction that asked for it goes on (its checks run again)
"""

from __future__ import annotations

from idp import context
from idp.accounts.models import Person
from idp.accounts.sessions import SsoSession
from idp.authn import methods
from idp.db import db
from realname.proofing import Attempts, FaceOutcome, prove_real_person


def with_face(
    sso: SsoSession, person: Person, *, image_b64: str, liveness_token: str, attempts: Attempts
) -> tuple[FaceOutcome, SsoSession | None]:
    """The check's outcome, and the session as it is now (raised when verified; None if
    it ended meanwhile)."""
    connectors = context.connectors()
    outcome = prove_real_person(
        db.session,
        context.accounts(),
        connectors.population,
        connectors.face,
        person,
        image_b64=image_b64,
        liveness_token=liveness_token,
        channel=sso.channel,
        attempts=attempts,
    )
    db.session.commit()
    if outcome is not FaceOutcome.verified:
        return outcome, sso
    proof = methods.evidence(person, methods.FACE)
    return outcome, methods.raise_session(context.sessions(), sso, proof)
