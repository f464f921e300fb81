"""Subject identifiers: pairwise per sector by default, public for internal systems.

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
