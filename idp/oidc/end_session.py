"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

RP sends the browser to /end_session (id_token_hint, client_id,
post_logout_redirect_uri, state)
    -> [hint or client_id names a known client?] and
       [post_logout_redirect_uri registered for it, exactly?] --no--> REFUSE (no redirect)
    -> [id_token_hint one of our ID tokens (not an access or logout token, though we
       signed those too), issued to a known client, for this browser's session; or the
       person confirmed?]
           no  -> CONFIRM page (button decision=logout)
           yes -> sign out (session + its grants), then back to the RP
                  (post_logout_redirect_uri?state=...) or a "signed out" page; the RPs
                  that got tokens in the session and registered a frontchannel_logout_uri
                  are loaded on a signed-out page first (idp/oidc/frontchannel.py)
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Request

from idp.accounts.sessions import SsoSession
from idp.flows.logout import sign_out
from idp.keys import InvalidTokenError
from idp.oidc import frontchannel
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
    frames: list[frontchannel.Target] = field(default_factory=list)  # front-channel, first


def handle(request: Request, sso: SsoSession | None) -> Confirm | Refuse | Done:
    params = {k: request.values[k] for k in PARAMS if request.values.get(k)}
    try:
        hint = _read_hint(params.get("id_token_hint"))
    except InvalidTokenError:
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
    hinted_here = bool(
        hint and sso and client and hint.get("sid") == oidc().tokens.session_id(sso.id, client)
    )
    if sso is not None and not (confirmed or hinted_here):
        return Confirm(params, client.name if client else None)

    frames = frontchannel.targets([sso.id]) if sso is not None else []  # before its grants go
    signed_out = sign_out(sso, reason="end_session") if sso is not None else False
    location = None
    if target:
        query = urlencode({"state": params["state"]}) if "state" in params else ""
        location = target + (("&" if "?" in target else "?") + query if query else "")
    return Done(signed_out, location, frames if signed_out else [])


def _read_hint(raw: str | None) -> dict[str, Any] | None:
    """The claims of an ID token we issued; expired ones are fine (RP-Initiated Logout
    1.0, section 2). None for another kind of token we signed (an access token, a Logout
    Token): it proves nothing about the person's wish, so they are asked. Raises
    InvalidTokenError for anything we did not sign."""
    if not raw:
        return None
    claims = oidc().tokens.keys.verify(raw, algs=ID_TOKEN_ALGS)
    if claims.get("iss") != oidc().issuer:
        raise InvalidTokenError("another issuer")
    if _header_type(raw) not in (None, "JWT") or not _shaped_like_id_token(claims):
        return None
    return claims


def _header_type(raw: str) -> str | None:
    """The (already verified) JOSE header's `typ`: ID tokens have none, ours at least;
    access tokens say at+jwt, Logout Tokens logout+jwt."""
    segment = raw.split(".", 1)[0]
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    typ = header.get("typ")
    return typ.upper() if isinstance(typ, str) else None


def _shaped_like_id_token(claims: dict[str, Any]) -> bool:
    # An ID token names its one client in both `aud` and `azp`; it has no scope, no grant
    # and no events (which access and Logout Tokens have).
    aud = claims.get("aud")
    return (
        isinstance(aud, str)
        and claims.get("azp") == aud
        and "auth_time" in claims
        and not {"scope", "gid", "client_id", "events"} & claims.keys()
    )
