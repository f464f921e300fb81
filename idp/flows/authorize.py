"""Authorization request: from a relying party's redirect to a code (or an error) back there.

    RP redirect --> [client + redirect_uri valid?] --no--> ERROR PAGE (never redirect)
                        | yes
                        v
                   [rest of request valid?] --no--> error to RP (state, iss)
                        | yes
                        v
                   RECEIVED (record in Redis, TTL 10 min)
                        |  checks, each answering "sign in" or "no need":
                        |  no_session, prompt_login, max_age, acr_below_requested
                        |-- any "sign in": prompt=none -> login_required to RP
                        |                  else -> SIGN-IN page, then resume here
                        |-- level reachable by a face check -> STEP-UP (face), then resume
                        |-- level out of reach -> unmet_authentication_requirements to RP
                        v
                   [a newer registration agreement?] --yes--> accept it, then resume
                        | no
                        v
                   [org scope and memberships?] --yes--> ACT FOR page: myself or an
                        | no                             organisation (re-checked)
                        v
                   [consent needed?] --yes--> prompt=none -> consent_required to RP
                        | no              \\-> CONSENT page: allow -> remember it
                        v                                    deny  -> access_denied to RP
                   CODE: redirect with code, state, iss

The RP's request is validated by Authlib in `idp/oidc`; this file only decides what the
person must do. What the RP may read, and the consent to it, is `idp/flows/consent.py`.
The record is consumed when the code (or an error) goes back.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from flask import Request, Response

from idp import context
from idp.accounts.models import Person
from idp.accounts.sessions import SsoSession
from idp.audit import record_event
from idp.audit.events import Event
from idp.db import db
from idp.flows import consent
from idp.flows.login import PASSWORD_ACR_CAP
from idp.oidc.claims import (
    ClaimsRequestError,
    consented_request,
    essential_acr,
    loa_number,
    parse_claims_parameter,
)
from idp.oidc.models import Client
from idp.oidc.runtime import oidc
from realname import agreements
from realname.agents import OrgMembership, memberships_for
from realname.proofing import REAL_PERSON_LOA

FLOW_TTL = 600
KIND = "authz-flow"
_MAX_AGE = re.compile(r"[0-9]{1,9}")  # ASCII digits only: "²".isdigit() is True too


class State(StrEnum):
    received = "received"
    signing_in = "signing_in"
    choosing = "choosing"  # "act for": myself or one of my organisations
    consenting = "consenting"


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


# What the view does next: show a page, or send the browser somewhere.
@dataclass
class ShowError:
    error: str
    description: str


@dataclass
class SendTo:
    location: str


@dataclass
class SignIn:
    flow_id: str
    login_hint: str | None


@dataclass
class AskConsent:
    flow_id: str
    client: Client
    scopes: list[str]
    claims: list[str]


@dataclass
class StepUp:
    """The session's level is below what the RP asked for; a face check can reach it."""

    flow_id: str


@dataclass
class AcceptAgreement:
    flow_id: str


@dataclass
class ChooseActFor:
    flow_id: str
    client: Client
    options: list[OrgMembership]


Outcome = ShowError | SendTo | SignIn | AskConsent | AcceptAgreement | ChooseActFor | StepUp


# -- entry points the views call ----------------------------------------------------------
def receive(request: Request, sso: SsoSession | None) -> Outcome:
    """A new authorization request arrives from a relying party."""
    params = {k: v for k, v in request.values.items()}
    duplicated = [k for k in request.values if len(request.values.getlist(k)) > 1]
    if duplicated:
        return _refuse(params, "invalid_request", f"parameter {duplicated[0]} sent twice")
    problem = _validate(params)
    if problem is not None:
        return problem
    record = {
        "id": secrets.token_urlsafe(16),
        "params": params,
        "state": State.received,
        "created_at": int(time.time()),
    }
    return _advance(record, sso)


def resume(flow_id: str, sso: SsoSession | None) -> Outcome:
    """The person comes back from the sign-in page."""
    record = context.store().find(KIND, flow_id)
    if record is None:
        return ShowError("expired", "the sign-in took too long; start again from the service")
    return _advance(record, sso)


def choose(flow_id: str, sso: SsoSession | None, choice: str) -> Outcome:
    """The person said whom they act for: `self`, or one of their organisations' ids."""
    record = context.store().find(KIND, flow_id)
    if (
        record is None
        or record["state"] != State.choosing
        or sso is None
        or sso.id != record.get("sso_id")
    ):
        return ShowError("expired", "this page has expired; start again from the service")
    person = db.session.get(Person, sso.person_id)
    allowed = {m.organization.id for m in memberships_for(db.session, person)} if person else set()
    if choice != "self" and choice not in allowed:
        return ShowError("invalid_request", "you cannot act for that organisation")
    record["act_for"] = None if choice == "self" else choice
    return _advance(record, sso)


def decide(flow_id: str, sso: SsoSession | None, decision: str) -> Outcome:
    """The person answered the consent page."""
    record = context.store().consume(KIND, flow_id)
    if record is None or record["state"] != State.consenting or sso is None:
        return ShowError("expired", "this consent page has expired; start again")
    if sso.id != record.get("sso_id"):
        return ShowError("expired", "this consent page belongs to another sign-in")
    params = record["params"]
    if decision != "allow":
        record_event(
            db.session,
            Event.consent_denied,
            person_id=sso.person_id,
            channel=sso.channel,
            detail={"client_id": params["client_id"]},
        )
        db.session.commit()
        return _refuse(params, "access_denied", "the person declined")
    client = oidc().clients.get(params["client_id"])
    if client is None:  # deleted while the consent page was open
        return ShowError("invalid_client", "the service is no longer registered")
    consent.remember(sso.person_id, client, consent.release_for(params, client), sso.channel)
    return _issue_code(record, sso)


# -- the steps ----------------------------------------------------------------------------
def _validate(params: dict[str, str]) -> Outcome | None:
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


def _advance(record: dict[str, Any], sso: SsoSession | None) -> Outcome:
    params = record["params"]
    person = db.session.get(Person, sso.person_id) if sso else None
    if person is not None and not person.active:
        person = None
    reasons = _reasons_to_sign_in(record, sso, person)
    if reasons:
        if "none" in params.get("prompt", "").split():
            return _refuse(params, "login_required", f"sign-in needed: {reasons[0]}")
        if reasons == ["face_step_up"]:
            record["state"] = State.signing_in
            record["stale_sso"] = None  # the same session continues, at a higher level
            context.store().upsert(KIND, record["id"], record, FLOW_TTL)
            return StepUp(record["id"])
        if reasons == ["acr_out_of_reach"]:
            return _refuse(
                params,
                "unmet_authentication_requirements",
                "the requested assurance level cannot be reached",
            )
        record["state"] = State.signing_in
        record["stale_sso"] = sso.id if sso else None
        context.store().upsert(KIND, record["id"], record, FLOW_TTL)
        return SignIn(record["id"], params.get("login_hint"))

    assert sso is not None and person is not None
    if agreements.pending_for(db.session, person.id):
        context.store().upsert(KIND, record["id"], record, FLOW_TTL)  # resumed afterwards
        return AcceptAgreement(record["id"])
    client = oidc().clients.get(params["client_id"])
    if client is None:  # deleted while the person was signing in
        return ShowError("invalid_client", "the service is no longer registered")
    release = consent.release_for(params, client)
    if "org" in release.scopes and "act_for" not in record:
        options = memberships_for(db.session, person)
        if options:
            if "none" in params.get("prompt", "").split():
                return _refuse(params, "interaction_required", "choose whom you act for")
            record.update(state=State.choosing, sso_id=sso.id)
            context.store().upsert(KIND, record["id"], record, FLOW_TTL)
            return ChooseActFor(record["id"], client, options)
        record["act_for"] = None
    if consent.needs_consent(params, person.id, client, release):
        if "none" in params.get("prompt", "").split():
            return _refuse(params, "consent_required", "the person has not consented")
        record.update(state=State.consenting, sso_id=sso.id)
        context.store().upsert(KIND, record["id"], record, FLOW_TTL)
        return AskConsent(record["id"], client, release.scopes, sorted(release.claims - {"sub"}))
    return _issue_code(record, sso)


def _reasons_to_sign_in(
    record: dict[str, Any], sso: SsoSession | None, person: Person | None
) -> list[str]:
    """Named re-authentication checks (after node-oidc-provider's policy)."""
    if sso is None or person is None:
        return ["no_session"]
    params = record["params"]
    # Signed in during this very request: sent to the sign-in page, and back with a new
    # session (every sign-in makes one). It stays fresh on later steps (a consent page
    # shown again), so those never send the person to sign in a second time.
    fresh = "stale_sso" in record and sso.id != record["stale_sso"]
    reasons = []
    if "login" in params.get("prompt", "").split() and not fresh:
        reasons.append("prompt_login")
    if "max_age" in params and not fresh and time.time() - sso.auth_time > int(params["max_age"]):
        reasons.append("max_age")
    wanted = _required_level(params)
    if wanted > loa_number(sso.acr):
        if min(person.loa, PASSWORD_ACR_CAP) >= wanted and not fresh:
            reasons.append("acr_below_requested")  # signing in again is enough
        elif min(person.loa, REAL_PERSON_LOA) >= wanted:
            reasons.append("face_step_up")  # the person can prove it with their face
        else:
            reasons.append("acr_out_of_reach")
    return reasons


def _required_level(params: dict[str, str]) -> int:
    wanted = [loa_number(v) for v in params.get("acr_values", "").split()]
    wanted += [loa_number(v) for v in essential_acr(parse_claims_parameter(params.get("claims")))]
    wanted = [w for w in wanted if w > 0]
    return min(wanted) if wanted else 0


def _issue_code(record: dict[str, Any], sso: SsoSession) -> Outcome:
    context.store().destroy(KIND, record["id"])
    client = oidc().clients.get(record["params"]["client_id"])
    if client is None:
        return ShowError("invalid_client", "the service is no longer registered")
    release = consent.release_for(record["params"], client)
    # The code carries the scopes the client is registered for and the claims the person
    # agreed to, nothing else: tokens and userinfo never see the rest of the request.
    params = {**record["params"], "scope": " ".join(release.scopes)}
    signed_in = SignedInPerson(
        person_id=sso.person_id,
        sid=sso.id,
        auth_time=sso.auth_time,
        acr=sso.acr,
        amr=sso.amr,
        claims=consented_request(parse_claims_parameter(params.get("claims")), release.claims),
        act_for=record.get("act_for"),
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


def _refuse(params: dict[str, str], error: str, description: str) -> Outcome:
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
