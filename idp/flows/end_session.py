"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

RP sends the browser to /end_session (id_token_hint, client_id,
post_logout_redirect_uri, state)
    -> [hint or client_id names a known client?] and
       [post_logout_redirect_uri registered for it, exactly?] --no--> REFUSE (no redirect)
    -> [a valid id_token_hint for this browser's session, or the person confirmed?]
           no  -> CONFIRM page (button decision=logout)
           yes -> sign out (session + its grants), then back to the RP
                  (post_logout_redirect_uri?state=...) or a "signed out" page
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Request

from idp.accounts.sessions import SsoSession
from idp.flows.logout import sign_out
from idp.keys import InvalidTokenError
from idp.oidc.clients import ID_TOKEN_ALGS
from idp.oidc.runtime import oidc

PARAMS = (
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
    "logout_hint",
)


@dataclass
class Confirm:
    params: dict[str, str]
    client_name: str | None


@dataclass
class Refuse:
    reason: str


@dataclass
class Done:
    signed_out: bool
    location: str | None


def handle(request: Request, sso: SsoSession | None) -> Confirm | Refuse | Done:
    params = {k: request.values[k] for k in PARAMS if request.values.get(k)}
    hint = _read_hint(params.get("id_token_hint"))
    if params.get("id_token_hint") and hint is None:
        return Refuse("id_token_hint is not an ID token we issued")
    client_id = params.get("client_id") or (hint or {}).get("aud")
    if hint and params.get("client_id") and params["client_id"] != hint.get("aud"):
        return Refuse("client_id does not match the id_token_hint")
    client = oidc().clients.get(client_id) if client_id else None
    if client_id and client is None:
        return Refuse("unknown client")
    target = params.get("post_logout_redirect_uri")
    if target and (client is None or target not in client.post_logout_redirect_uris):
        return Refuse("post_logout_redirect_uri is not registered for this client")

    confirmed = request.method == "POST" and request.form.get("decision") == "logout"
    hinted_here = bool(hint and sso and hint.get("sid") == sso.id)
    if sso is not None and not (confirmed or hinted_here):
        return Confirm(params, client.name if client else None)

    signed_out = sign_out(sso, reason="end_session") if sso is not None else False
    location = None
    if target:
        query = urlencode({"state": params["state"]}) if "state" in params else ""
        location = target + (("&" if "?" in target else "?") + query if query else "")
    return Done(signed_out, location)


def _read_hint(raw: str | None) -> dict[str, Any] | None:
    """An ID token we signed; expired ones are fine (RP-Initiated Logout 1.0, section 2)."""
    if not raw:
        return None
    try:
        claims = oidc().tokens.keys.verify(raw, algs=ID_TOKEN_ALGS)
    except InvalidTokenError:
        return None
    return claims if claims.get("iss") == oidc().issuer else None
