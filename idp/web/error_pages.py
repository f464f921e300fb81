"""The page a person sees when a service's request, or a step of signing in, cannot go
on and nothing may be sent back to the service (its redirect URI is not proven, or the
transaction is gone): what happened in the person's words, the code for the help desk,
and a way back to the service when it is known."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from idp.oidc.runtime import oidc
from idp.web.error_words import sentence, way_back

AUTHORIZE_ENDPOINT = "authorize.receive"


def request_refused(
    error: str, description: str, client_id: str | None = None, *, said: str | None = None
) -> tuple[str, int]:
    """A 400 page for `error` (in words: `said`'s sentence if given). At /authorize the
    client and redirect URI are the request's own; a known client's way back is its
    registered address, never the one asked for."""
    asked = request.args if request.endpoint == AUTHORIZE_ENDPOINT else {}
    client = oidc().clients.get(client_id or asked.get("client_id"))
    said = said or error
    redirect_uri = asked.get("redirect_uri")
    if client is not None and redirect_uri and not client.check_redirect_uri(redirect_uri):
        said = "redirect_uri"
    service = (client.name, client.redirect_uris[0]) if client and client.redirect_uris else None
    return render_template(
        "error.html",
        status=400,
        title=_("The request cannot be completed"),
        message=sentence(said),
        code=error or "invalid_request",
        detail=description,
        back=way_back(service),
    ), 400
