"""Signing out: one SSO session ends, and the tokens it produced stop working.

sign-out (account centre, /logout, or an RP's end_session request)
    -> SSO session destroyed in Redis, cookie cleared
    -> the session's grants revoked (refresh and access tokens die with them),
       except grants with offline_access, which outlive the browser session
       (a password change or reset ends those too, and so does "sign out everywhere":
       `sign_out_everywhere`)
    -> audit row person:session:ended
    -> after the commit, every RP that got tokens in the session and registered a
       backchannel_logout_uri is sent a Logout Token from a background worker
       (the OpenID Connect back-channel logout); the person does not wait for RPs

The protocols' part (grants, back-channel logout) is theirs: each registers a
`SignOutListener` with the app (idp/authn/sign_out.py); this flow knows none of them.
"""

from __future__ import annotations

from idp import context
from idp.accounts.sessions import SsoSession
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn.sign_out import listeners
from idp.db import db


def sign_out(sso: SsoSession, *, reason: str = "logout") -> bool:
    ended = context.sessions().end(sso.id)
    if ended is None:
        return False
    ending = [listener.session_ending(sso.id) for listener in listeners()]
    revoked = sum(end.revoked for end in ending)
    record_event(
        db.session,
        Event.session_ended,
        person_id=sso.person_id,
        channel=sso.channel,
        session_id=sso.id,
        detail={"reason": reason, "grants_revoked": revoked},
    )
    db.session.commit()
    for end in ending:
        end.after_commit()
    return True


def sign_out_others(person_id: str, keep: str | None, *, reason: str) -> int:
    """End every session of the person but `keep` (password change, "everywhere else")."""
    ended = 0
    for sso in context.sessions().list_for_person(person_id):
        if sso.id != keep:
            ended += sign_out(sso, reason=reason)
    return ended


def sign_out_everywhere(person_id: str, *, keep: str | None = None, reason: str) -> int:
    """Every session of the person ends but `keep` (none: this one too), and so does every
    token of the person, offline_access refresh tokens included, but those of `keep`:
    a person who fears a device is in the wrong hands ends all it holds. Each session's
    RPs hear of it as at any sign-out. Returns how many sessions ended."""
    ended = sign_out_others(person_id, keep, reason=reason)
    revoked = sum(listener.person_ending(person_id, keep) for listener in listeners())
    record_event(
        db.session,
        Event.tokens_revoked,
        person_id=person_id,
        session_id=keep,
        detail={"reason": reason, "grants_revoked": revoked},
    )
    db.session.commit()
    return ended


def after_password_change(person_id: str, keep: str | None, *, reason: str) -> int:
    """A new password ends everything the old one opened: every other session, and every
    token of the person (a thief holding an offline_access refresh token must lose it).
    Only session `keep` lives on, when the person chose to stay signed in there."""
    return sign_out_everywhere(person_id, keep=keep, reason=reason)
