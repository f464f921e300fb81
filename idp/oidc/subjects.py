"""Subject and session identifiers: pairwise per sector by default, public for internal
systems; the `sid` RPs see is pairwise per client, always.

One function computes `sub` everywhere (ID token, userinfo, access tokens, logout tokens),
so an RP always sees the same value and two sectors never see the same one. The value is
derived, not stored: it can never be reassigned to another person.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from idp.oidc.models import Client


def subject_for(person_id: str, client: Client, salt: str) -> str:
    if client.subject_type == "public":
        return person_id
    digest = hmac.new(salt.encode(), f"{client.sector}|{person_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def session_for(sso_id: str, client: Client, salt: str) -> str:
    """The `sid` a client sees for SSO session `sso_id` (ID tokens, access tokens, Logout
    Tokens): per client, so that clients sharing one sign-in cannot join their pairwise
    subjects on it. Derived, like `sub`, so back-channel logout finds it again."""
    digest = hmac.new(salt.encode(), f"sid|{client.client_id}|{sso_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
