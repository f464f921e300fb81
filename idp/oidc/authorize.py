"""The authorization endpoint's protocol half: an OpenID Connect request in, an
authentication transaction out; the finished transaction in, a code (or an error) out.

    RP redirect --> [client + redirect_uri valid?] --no--> ERROR PAGE (never redirect)
                        | yes
                        v
                   [rest of request valid?] --no--> error to RP (state, iss)
                        | yes
                        v
                   TRANSACTION (idp/authn): requester, level (acr_values, essential acr),
                   max_age, prompt=login/none/consent, login_hint, scopes and claims asked
                        |  ... the person's steps (idp/flows), decided by idp/authn/policy.py
                        v
                   READY --> CODE: redirect with code, state, iss (the release only)
                   REFUSED --> error to RP (login_required, consent_required, ...)

Nothing here decides who must sign in or what is released: that is idp/authn, the same
for every protocol. The transaction is consumed when the code (or an error) goes back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from flask import Response
from werkzeug.datastructures import MultiDict

from idp import context
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn import Ready, Transactions
from idp.authn.answers import Answer, SendTo, ShowError
from idp.authn.policy import Refusal
from idp.authn.release import loa_number
from idp.authn.transaction import Kind, Requester, Transaction
from idp.db import db
from idp.oidc.claims import (
    ClaimsRequestError,
    consented_request,
    essential_acr,
    parse_claims_parameter,
    requested_names,
)
from idp.oidc.models import Client
from idp.oidc.runtime import oidc

PROTOCOL = "oidc"
_MAX_AGE = re.compile(r"[0-9]{1,9}")  # ASCII digits only: "²".isdigit() is True too


@dataclass
class SignedInPerson:
    """What the code will carry about the sign-in (Authlib's `grant_user`)."""

    person_id: str
    sid: str
    auth_time: int
    acr: str
    amr: list[str]
    claims: dict[str, Any] = field(default_factory=dict)
    act_for: str | None = None  # organisation id, when acting for one


def requester_for(client: Client) -> Requester:
    return Requester(
        id=client.client_id,
        name=client.name,
        sector=client.sector_identifier,
        first_party=client.first_party,
        scopes=tuple(client.scopes),
    )


def receive(values: MultiDict[str, str], channel: str | None = None) -> Transaction | Answer:
    """A new authorization request: its transaction, or the error it gets at once."""
    params = {k: v for k, v in values.items()}
    duplicated = [k for k in values if len(values.getlist(k)) > 1]
    if duplicated:
        return _refuse(params, "invalid_request", f"parameter {duplicated[0]} sent twice")
    problem = _validate(params)
    if problem is not None:
        return problem
    client = oidc().clients.get(params["client_id"])
    assert client is not None  # _validate found it
    claims = parse_claims_parameter(params.get("claims"))
    prompt = set(params.get("prompt", "").split())
    return Transaction(
        kind=Kind.sign_in,
        requester=requester_for(client),
        protocol=PROTOCOL,
        reference=params,
        channel=channel or client.channel,  # the official app's sign-in is the app's
        level=_required_level(params, claims),
        max_age=int(params["max_age"]) if "max_age" in params else None,
        forced="login" in prompt,
        passive="none" in prompt,
        consent_forced="consent" in prompt,
        login_hint=params.get("login_hint"),
        scopes=params.get("scope", "").split(),
        claims=sorted(requested_names(claims)),
    )


def complete(ready: Ready) -> Answer:
    """The transaction is ready: the code, carrying the release and nothing more."""
    txn = Transactions(context.store()).consume(ready.txn.id)
    if txn is None:  # answered already (a second tab, a replayed form)
        return ShowError("expired", "this sign-in has already been completed")
    client = oidc().clients.get(txn.requester.id)
    if client is None:  # deleted while the person was signing in
        return ShowError("invalid_client", "the service is no longer registered")
    sso = ready.sso
    # The code carries the scopes the client is registered for (still, now) and the claims
    # the person agreed to, nothing else: tokens and userinfo never see the rest.
    scopes = [s for s in ready.release.scopes if s in client.scopes]
    params = {**txn.reference, "scope": " ".join(scopes)}
    signed_in = SignedInPerson(
        person_id=sso.person_id,
        sid=sso.id,
        auth_time=sso.auth_time,
        acr=sso.acr,
        amr=sso.amr,
        claims=consented_request(
            parse_claims_parameter(params.get("claims")), ready.release.claims
        ),
        act_for=txn.act_for,
    )
    server = oidc().server
    oauth2_request = _oauth2_request(params)
    grant = server.get_consent_grant(oauth2_request, end_user=signed_in)
    response: Response = server.create_authorization_response(
        oauth2_request, grant_user=signed_in, grant=grant
    )
    record_event(
        db.session,
        Event.authorization_granted,
        person_id=sso.person_id,
        channel=sso.channel,
        session_id=sso.id,
        detail={"client_id": params["client_id"], "scope": oauth2_request.scope},
    )
    db.session.commit()
    return SendTo(server.with_issuer(response.headers["Location"]))


def refuse(txn: Transaction, refusal: Refusal, reason: str) -> Answer:
    """The transaction ends without a person: the RP is told, in OAuth's words."""
    Transactions(context.store()).consume(txn.id)
    return _refuse(txn.reference, refusal.value, reason)


def _validate(params: dict[str, str]) -> Answer | None:
    try:
        oidc().server.get_consent_grant(_oauth2_request(params))
        parse_claims_parameter(params.get("claims"))  # refuse a malformed one up front
    except OAuth2Error as error:
        return _refuse(params, error.error, error.description or "")
    except ClaimsRequestError as error:
        return _refuse(params, "invalid_request", str(error))
    client = oidc().clients.get(params.get("client_id"))
    problem = _scope_problem(params.get("scope", "").split(), client.scopes if client else [])
    if problem is not None:
        return _refuse(params, "invalid_scope", problem)
    prompt = set(params.get("prompt", "").split())
    if "none" in prompt and len(prompt) > 1:
        return _refuse(params, "invalid_request", "prompt=none cannot be combined")
    if "max_age" in params and not _MAX_AGE.fullmatch(params["max_age"]):
        return _refuse(params, "invalid_request", "max_age must be a whole number of seconds")
    return None


def _scope_problem(requested: list[str], registered: list[str]) -> str | None:
    """Scopes the client is not registered for are left out of what it gets (RFC 6749
    3.3), except where that would change what the request means."""
    if "idcard" in requested and "idcard" not in registered:
        return "this client may not receive ID numbers"
    if "openid" in requested and "openid" not in registered:
        return "this client is not registered for OpenID Connect (scope openid)"
    if not set(requested) & set(registered):
        return "none of the requested scopes is registered for this client"
    return None


def _required_level(params: dict[str, str], claims: dict[str, dict[str, Any]]) -> int:
    """The lowest level among those asked (acr_values, an essential acr claim): any of
    them satisfies the RP (OIDC Core 3.1.2.1, 5.5.1.1)."""
    wanted = [loa_number(v) for v in params.get("acr_values", "").split()]
    wanted += [loa_number(v) for v in essential_acr(claims)]
    wanted = [w for w in wanted if w > 0]
    return min(wanted) if wanted else 0


def _refuse(params: dict[str, str], error: str, description: str) -> Answer:
    """Send an error back to the RP only when its redirect URI is proven; else show it."""
    client = oidc().clients.get(params.get("client_id"))
    redirect_uri = params.get("redirect_uri")
    if client is None or not redirect_uri or not client.check_redirect_uri(redirect_uri):
        return ShowError(error, description)
    query = {"error": error, "error_description": description}
    if "state" in params:
        query["state"] = params["state"]
    separator = "&" if "?" in redirect_uri else "?"
    return SendTo(oidc().server.with_issuer(redirect_uri + separator + urlencode(query)))


def _oauth2_request(params: dict[str, str]) -> OAuth2Request:
    issuer = oidc().issuer
    request = OAuth2Request("GET", f"{issuer}/authorize?{urlencode(params)}")
    request.payload = BasicOAuth2Payload(params)
    return request
