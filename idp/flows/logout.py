"""Signing out: one SSO session ends, and the tokens it produced stop working.

sign-out (account centre, /logout, or an RP's end_session request)
    -> SSO session destroyed in Redis, cookie cleared
    -> the session's grants revoked (refresh and access tokens die with them),
       except grants with offline_access, which outlive the browser session
    -> audit row person:session:ended
"""

from __future__ import annotations

from idp import context
from idp.accounts.sessions import SsoSession
from idp.audit import record_event
from idp.db import db
from idp.oidc.runtime import oidc


def sign_out(sso: SsoSession, *, reason: str = "logout") -> bool:
    ended = context.sessions().end(sso.id)
    if ended is None:
        return False
    revoked = oidc().artifacts.revoke_session_grants(sso.id)
    record_event(
        db.session,
        "person:session:ended",
        person_id=sso.person_id,
        channel=sso.channel,
        session_id=sso.id,
        detail={"reason": reason, "grants_revoked": revoked},
    )
    db.session.commit()
    return True


def sign_out_others(person_id: str, keep: str | None, *, reason: str) -> int:
    """End every session of the person but `keep` (password change, "everywhere else")."""
    ended = 0
    for sso in context.sessions().list_for_person(person_id):
        if sso.id != keep:
            ended += sign_out(sso, reason=reason)
    return ended
