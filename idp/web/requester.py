"""Who is asking: the sign-in, act-for and consent pages name the service a transaction is
for (its registered name and logo) and the organisation the person chose to act for
(templates/requester.html). Logos are served from our own origin, so the pages' CSP
stays `img-src 'self'` and the service learns nothing from a person opening a page."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import Blueprint, abort, request, url_for
from werkzeug.wrappers import Response

from idp import context
from idp.authn import Transactions
from idp.db import db
from idp.oidc.logos import logo_of, logo_version
from realname.organizations import Organization

bp = Blueprint("requester", __name__)

LOGO_MAX_AGE = 86400  # the URL changes with the logo (?v=): a day's caching is safe


@dataclass(frozen=True)
class Asking:
    name: str
    logo_url: str | None
    organization: str | None  # the name of the organisation acted for, once chosen


@bp.app_template_global("asking_service")
def asking_service(txn_id: str | None) -> Asking | None:
    """The service transaction `txn_id` is for; None for the account centre's own
    sign-in, or when there is no such transaction."""
    txn = Transactions(context.store()).find(txn_id) if txn_id else None
    if txn is None or txn.protocol == "account":
        return None
    version = logo_version(db.session, txn.requester.id)
    logo_url = None
    if version is not None:
        stamp = int(version.timestamp())
        logo_url = url_for("requester.logo", client_id=txn.requester.id, v=stamp)
    organization = db.session.get(Organization, txn.act_for) if txn.act_for else None
    return Asking(txn.requester.name, logo_url, organization.name if organization else None)


@bp.get("/clients/<client_id>/logo")
def logo(client_id: str) -> Response:
    found = logo_of(db.session, client_id)
    if found is None:
        abort(404)
    data, kind = found
    etag = hashlib.sha256(data).hexdigest()[:32]
    response = Response(data, content_type=kind)
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={LOGO_MAX_AGE}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    return response.make_conditional(request)
