"""The self-service kiosk (自助终端) as a channel: a registered client with its own key
(private_key_jwt) that reads a person's ID card chip and films their face.

    kiosk: POST /kiosk/captures  image (base64 frame), liveness_token  (+ its client assertion)
        -> 201 {"capture_id", "expires_in": 120}: kept 2 minutes, for this kiosk only, once
    kiosk: POST /token  a JWT bearer assertion: sub = the card's ID number, name, face_capture
        -> the grant (idp/oidc/grants/jwt_bearer.py) checks the assertion, then asks this
           desk who the person is (`KioskDesk.identify`):
           tries left for this kiosk and this ID number (failures; each try counted before
           anything is asked, given back when it succeeds)
           -> the capture (this kiosk's, unused, not expired; used up now)
           -> the card and the face (realname/proofing.py: an account holding the number,
              the registry's name for it, the live face against the registry photo)
           -> the person, at loa:4 from now on | invalid_grant, one neutral description
    the person leaves: the kiosk revokes its token at /revoke (the session and its grant
    end, idp/oidc/introspection.py), or nobody touches the session for
    IDP_KIOSK_IDLE_TIMEOUT (2 minutes; idp/accounts/sessions.py) and it ends by itself

Why the assertion names the capture rather than carrying the frame: a camera frame is tens
to hundreds of kilobytes, and an assertion is a token request parameter, read by the token
endpoint's cheap parser (16 KiB) and copied wherever token requests are logged or traced; a
face is biometric data that should cross the wire once, to one endpoint that keeps it two
minutes and hands it to the face service. The assertion signs only the capture's id, which
is of no use to another kiosk, nor after one try.

Every refusal of a card or a face gets the same description (a kiosk is a public place: the
answer must not tell whether the number has an account here, nor which check failed); the
audit trail says which. The limits: `KIOSK_FAILURES` per kiosk an hour (a stolen kiosk key
cannot try many numbers), IDP_REALNAME_TRIES_PER_ID_NUMBER per ID number a day (a found
card cannot be tried with many faces at many kiosks).
"""

from __future__ import annotations

import binascii
import json
import secrets
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
    UnauthorizedClientError,
)
from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy.orm import Session

from config import Settings
from connectors.face import FaceVerifier
from connectors.population import PopulationRegistry
from idp.accounts.models import Person
from idp.accounts.services import Accounts
from idp.audit import record_event
from idp.audit.events import Event
from idp.db import db
from idp.errors import ServiceUnavailableError
from idp.oidc.features import JWT_BEARER_GRANT
from idp.oidc.grants.jwt_bearer import KIOSK, REFUSED, Card
from idp.oidc.machine.requests import MachineRequest
from idp.oidc.models import Client
from idp.oidc.parameters import refuse_repeated_parameters
from idp.oidc.runtime import oidc
from idp.oidc.server import OidcServer
from idp.store import ArtifactStore
from realname.identifiers import IdType, mask
from realname.proofing import CardOutcome, prove_card_and_face

CAPTURE_KIND = "kiosk-capture"
CAPTURE_TTL = 120
MAX_IMAGE_B64 = 512 * 1024  # what the face service takes
MAX_LIVENESS_TOKEN = 2048
KIOSK_FAILURES = 30  # refused cards and faces per kiosk an hour
KIOSK_WINDOW = 3600
CARD_WINDOW = 86400
EXTENSION = "idp.kiosk"

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")


@dataclass(frozen=True)
class Capture:
    client_id: str
    image: str
    liveness_token: str


class Captures:
    """Live frames a kiosk uploaded, each kept `CAPTURE_TTL` seconds, for one use by it."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def keep(self, client_id: str, image: str, liveness_token: str) -> str:
        capture_id = secrets.token_urlsafe(24)
        record = {"client_id": client_id, "image": image, "liveness_token": liveness_token}
        self.store.upsert(CAPTURE_KIND, capture_id, record, CAPTURE_TTL)
        return capture_id

    def take(self, capture_id: str, client_id: str) -> Capture | None:
        """The capture, used up; None when unknown, expired, used or another kiosk's."""
        record = self.store.consume(CAPTURE_KIND, capture_id)
        if record is None or record["client_id"] != client_id:
            return None
        return Capture(**record)


class KioskDesk:
    """The kiosk channel's rules, for the JWT bearer grant (`server.kiosk`)."""

    def __init__(
        self,
        *,
        store: ArtifactStore,
        accounts: Accounts,
        registry: PopulationRegistry,
        face: FaceVerifier,
        settings: Settings,
    ) -> None:
        self.captures = Captures(store)
        self.store, self.accounts, self.registry, self.face = store, accounts, registry, face
        self.card_failures = settings.realname_tries_per_id_number
        self._session_idle = settings.kiosk_idle_timeout

    @property
    def session_idle(self) -> int:
        return self._session_idle

    def identify(self, db: Session, kiosk: Client, card: Card, *, ip: str | None) -> Person:
        counted = self._count_try(db, kiosk, card, ip)
        capture = self.captures.take(card.face_capture, kiosk.client_id)
        if capture is None:
            raise InvalidGrantError(
                description="face_capture is unknown, expired, used or another kiosk's"
            )
        check = prove_card_and_face(
            db,
            self.accounts,
            self.registry,
            self.face,
            name=card.name,
            id_number=card.id_number,
            image_b64=capture.image,
            liveness_token=capture.liveness_token,
            channel=KIOSK,
        )
        if check.outcome is CardOutcome.unavailable:
            self._give_back(counted)  # not the person's failure
            db.commit()
            raise ServiceUnavailableError("the population registry or the face service")
        person = check.person
        detail = {"client_id": kiosk.client_id, "id_number": check.masked_number}
        if check.outcome is not CardOutcome.verified or person is None:
            _record(db, Event.kiosk_card_refused, person, ip, {**detail, "reason": check.outcome})
            db.commit()
            raise InvalidGrantError(description=REFUSED)
        self._give_back(counted)
        _record(db, Event.kiosk_card_verified, person, ip, {**detail, "loa": person.loa})
        db.commit()
        return person

    # -- the limits ------------------------------------------------------------------------
    def _count_try(
        self, db: Session, kiosk: Client, card: Card, ip: str | None
    ) -> list[tuple[str, str]]:
        """Count this try on the kiosk's counter, then the ID number's; the first one
        over its limit refuses it (audited the first time only: a blocked kiosk's retries
        must not fill the audit trail). Returns the counters to give back on success."""
        number = card.id_number.strip().upper()
        counters = [
            ("kiosk-failures", kiosk.client_id, KIOSK_FAILURES, KIOSK_WINDOW),
            (
                "kiosk-card-failures",
                self.accounts.sealer.blind_index("attempts:kiosk:id", number),
                self.card_failures,
                CARD_WINDOW,
            ),
        ]
        counted: list[tuple[str, str]] = []
        for kind, ident, limit, window in counters:
            over = self.store.incr(kind, ident, window) - limit
            if over > 0:
                self._give_back(counted)  # refused before anything was asked
                if over == 1:
                    detail = {"client_id": kiosk.client_id, "limit": kind}
                    if kind == "kiosk-card-failures":
                        detail["id_number"] = _masked(number)
                    _record(db, Event.kiosk_card_throttled, None, ip, detail)
                    db.commit()
                raise InvalidGrantError(
                    description="too many failed tries at this kiosk or with this card; "
                    "try again later"
                )
            counted.append((kind, ident))
        return counted

    def _give_back(self, counted: list[tuple[str, str]]) -> None:
        for kind, ident in counted:
            self.store.decrement(kind, ident)


def init_app(app: Flask, server: OidcServer) -> KioskDesk:
    """The desk, built from the app's parts and attached to the server for the grant."""
    connectors = app.extensions["idp.connectors"]
    desk = KioskDesk(
        store=app.extensions["idp.store"],
        accounts=app.extensions["idp.accounts"],
        registry=connectors.population,
        face=connectors.face,
        settings=app.extensions["idp.settings"],
    )
    server.kiosk = desk
    app.extensions[EXTENSION] = desk
    return desk


# -- the capture upload --------------------------------------------------------------------
@bp.post("/captures")
def capture() -> Response:
    kiosk = _authenticated_kiosk()
    image = request.form.get("image", "")
    liveness_token = request.form.get("liveness_token", "")
    if not image or len(image) > MAX_IMAGE_B64 or not _base64(image):
        raise InvalidRequestError(description="image must be a base64 frame up to 512 KiB")
    if not liveness_token or len(liveness_token) > MAX_LIVENESS_TOKEN:
        raise InvalidRequestError(description="liveness_token is required")
    desk: KioskDesk = current_app.extensions[EXTENSION]
    capture_id = desk.captures.keep(kiosk.client_id, image, liveness_token)
    return _json({"capture_id": capture_id, "expires_in": CAPTURE_TTL}, 201)


def _authenticated_kiosk() -> Client:
    """The kiosk posting, authenticated by its key as at the token endpoint."""
    oauth = MachineRequest(
        request.base_url, request.environ, (request.args, request.form), lambda: db.session
    )
    refuse_repeated_parameters(oauth)
    client: Client = oidc().server.authenticate_client(oauth, ["private_key_jwt"], "kiosk")
    if not client.check_grant_type(JWT_BEARER_GRANT) or client.channel != KIOSK:
        raise UnauthorizedClientError(description="only a kiosk may upload face captures")
    return client


def _base64(value: str) -> bool:
    try:
        binascii.a2b_base64(value.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        return False
    return True


def _masked(number: str) -> str:
    return mask(IdType.RESIDENT, number) if len(number) == 18 else "(malformed)"


def _record(
    session: Session, event: Event, person: Person | None, ip: str | None, detail: dict[str, Any]
) -> None:
    record_event(
        session,
        event,
        person_id=person.id if person is not None else None,
        actor=f"client:{detail['client_id']}",
        channel=KIOSK,
        ip=ip,
        detail=detail,
    )


@bp.errorhandler(OAuth2Error)
def _oauth_error(error: OAuth2Error) -> Response:
    status, body, headers = error()
    return _json(dict(body), status, dict(headers))


def _json(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
