"""OpenID Connect's part of a sign-out: the session's grants end (their refresh and access
tokens with them), and the RPs that asked for it get a back-channel Logout Token once the
sign-out is committed. Registered with the app as a SignOutListener (idp/authn/sign_out.py)."""

from __future__ import annotations

from functools import partial

from idp.authn.sign_out import Ending
from idp.oidc import backchannel
from idp.oidc.artifacts import Artifacts


class OidcSignOut:
    def __init__(self, artifacts: Artifacts) -> None:
        self.artifacts = artifacts

    def session_ending(self, session_id: str) -> Ending:
        to_tell = backchannel.recipients(session_id)  # read before its grants are revoked
        revoked = self.artifacts.revoke_session_grants(session_id)
        return Ending(revoked, partial(backchannel.notify, to_tell))

    def person_ending(self, person_id: str, keep_session: str | None) -> int:
        return self.artifacts.revoke_person_grants(person_id, keep_sid=keep_session)
