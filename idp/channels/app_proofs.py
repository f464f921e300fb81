"""Who is asking, on the app API: at enrolment, the official app's access token and a
proof carrying the new key; on every later request, a proof signed by an enrolled
device's key (idp/authn/devices.py), bound to this method and URL. A refused proof is a
401 with `WWW-Authenticate: DPoP error="invalid_dpop_proof"`."""

from __future__ import annotations

import logging
from typing import NoReturn

from flask import request
from joserfc.jwk import ECKey

from idp import context
from idp.accounts.models import Person
from idp.authn.devices import Device, Devices, ProofError, check_proof, device_key, read_proof
from idp.channels.app_answers import challenge, refuse
from idp.db import db
from idp.keys import InvalidTokenError
from idp.oidc.runtime import oidc

log = logging.getLogger(__name__)


def enrolling() -> tuple[Person, ECKey]:
    """The person the official app's access token is for, and the new key the enrolment
    proof carries (bound to that token by `ath`)."""
    token, person = _app_access_token()
    value = request.headers.get("DPoP")
    try:
        _header, _kid, key = read_proof(value)
        if key is None or value is None:
            raise ProofError("an enrolment proof carries the new public key (jwk)")
        check_proof(value, key, method="POST", url=htu(), seen=context.store(), access_token=token)
    except ProofError as exc:
        _bad_proof(str(exc))
    return person, key


def _app_access_token() -> tuple[str, Person]:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()

    def refused(reason: str) -> NoReturn:
        refuse(401, "invalid_token", reason, challenge("Bearer", "invalid_token", reason))

    if scheme.lower() != "bearer" or not token:
        refused("enrolment needs the app's access token (Authorization: Bearer)")
    try:
        claims, grant = oidc().tokens.check_access_token(token)
    except InvalidTokenError as exc:
        refused(f"the access token is not valid ({exc})")
    if claims.get("client_id") != context.settings().app_client_id or grant is None:
        refused("the access token was not issued to the official app")
    person = db.session.get(Person, grant["person_id"])
    if person is None or not person.active:
        refused("the access token's person may not sign in")
    return token, person


def signed_by_device() -> tuple[Device, Person]:
    """The device whose key signed this request's proof, and its person (who may still
    sign in); the device is marked used."""
    value = request.headers.get("DPoP")
    try:
        _header, kid, key = read_proof(value)
        if key is not None or kid is None or value is None:
            raise ProofError("the proof must name its device (kid), not carry a key")
        device = Devices(db.session).get(kid)
        if device is None:
            raise ProofError("no device is enrolled under this kid (removed, or never enrolled)")
        check_proof(
            value, device_key(device), method=request.method, url=htu(), seen=context.store()
        )
    except ProofError as exc:
        _bad_proof(str(exc))
    person = db.session.get(Person, device.person_id)
    if person is None or not person.active:
        refuse(403, "access_denied", "this account may not sign in")
    Devices(db.session).used(device)
    db.session.commit()
    return device, person


def htu() -> str:
    """This request's URL as the app must name it in `htu`: the issuer's, no query."""
    return context.settings().issuer.rstrip("/") + request.path


def _bad_proof(reason: str) -> NoReturn:
    log.info("app proof refused: %s", reason)
    refuse(401, "invalid_dpop_proof", reason, challenge("DPoP", "invalid_dpop_proof", reason))
