"""The JWT bearer grant (RFC 7523 2.1) as a kiosk (自助终端) uses it: the kiosk read a
person's ID card chip and filmed their face, and asserts both, signed with its own key.

    POST /token  grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer, assertion, scope,
                 and the kiosk's client assertion (private_key_jwt: nothing else)
        not a kiosk registered for this grant ------------ invalid_client / unauthorized_client
        the assertion: not signed by a key registered for this kiosk, `iss` not the kiosk,
        `aud` not exactly our issuer or token endpoint, `iat` stale or ahead, `exp` past
        or too far, `jti` seen before ------------------------------------------ invalid_grant
        the card and the face, by the kiosk channel's rules (idp/channels/kiosk.py: tries
        left, the capture, the registry, the face service, an account here) -> invalid_grant
        -> a kiosk_card transaction on the kiosk's channel, settled with the card and the
           face (idp/authn/approved.py: amr ["sc", "face"], loa:4 for a person who can
           reach it) by the same checks as every sign-in, passively
        -> an access token that lives no longer than a kiosk session is left alone
           (IDP_KIOSK_IDLE_TIMEOUT), an ID token, no refresh token: the person walks away

A refused assertion writes nothing: no session, no grant, no `jti` remembered (so a forged
assertion cannot use up a real one's), no audit row. A refused card or face is a security
event and is audited by the kiosk channel.

What the assertion carries (RFC 7523 3), and why:

- `iss`: the kiosk's client_id, the client that authenticated this request.
- `sub`: the card's ID number. RFC 7523 3 makes `sub` the principal the token is for, the
  resource owner: the card holder, not the kiosk. It also keeps apart the two JWTs a kiosk
  signs with one key: a client assertion's `sub` is its client_id (RFC 7523 3, 2.2), so
  neither can ever pass for the other.
- `aud`: our issuer or our token endpoint URL, one value and nothing else (as for client
  assertions, idp/oidc/client_auth.py; draft-ietf-oauth-rfc7523bis).
- `iat` at most 60 s old (30 s of clock skew ahead), `exp` at most 5 minutes after it, a
  `jti` accepted once (remembered in Redis until `exp`).
- `name`: the name printed on and stored in the card; `face_capture`: the reference the
  kiosk got for the live frame (idp/channels/kiosk.py says why a reference).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol, cast

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.hooks import hooked
from authlib.oauth2.rfc7523 import JWTBearerGrant as _JWTBearerGrant
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from idp.accounts.models import Person
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn import Halted, Ready, Refused
from idp.authn.approved import settle
from idp.authn.methods import FACE, ID_CARD, evidence
from idp.authn.transaction import Kind, Requester, Transaction, Transactions
from idp.errors import ServiceUnavailableError
from idp.oidc.client_auth import RemoteKeySets
from idp.oidc.features import JWT_BEARER_GRANT, TOKEN_PATH
from idp.oidc.grants.signed_in import authorization_for
from idp.oidc.models import Client

KIOSK = "kiosk"  # the only channel whose clients may assert a card
PROTOCOL = "kiosk_card"  # the transactions this grant answers, at once
ALGORITHMS = ["ES256", "RS256"]  # token_endpoint_auth_signing_alg_values_supported
MAX_AGE = 60  # seconds an assertion may be old (its iat)
SKEW = 30  # seconds a kiosk's clock may be ahead of ours
MAX_LIFETIME = 300  # seconds from iat to exp
MAX_CLAIM = 256
JTI_KIND = "kiosk-assertion-jti"
REFUSED = "the card and the face could not be verified"  # every card or face refusal


@dataclass(frozen=True)
class Card:
    """What the kiosk asserts about the person in front of it."""

    id_number: str  # `sub`
    name: str
    face_capture: str


class KioskDesk(Protocol):
    """The kiosk channel's rules (idp/channels/kiosk.py), attached to the server by
    app.py: this package may not import the channels, which import it."""

    @property
    def session_idle(self) -> int:
        """Seconds a kiosk session lives untouched (IDP_KIOSK_IDLE_TIMEOUT)."""
        ...

    def identify(self, db: Session, kiosk: Client, card: Card, *, ip: str | None) -> Person:
        """The person the card and the face prove, at loa:4 from now on and committed;
        raises InvalidGrantError (or ServiceUnavailableError) otherwise."""
        ...


class JWTBearerGrant(_JWTBearerGrant):
    """Authlib's grant finds its client by the assertion's `iss` and authenticates no
    one; a kiosk authenticates itself first and then asserts a person, so the request is
    validated here, in that order."""

    GRANT_TYPE = JWT_BEARER_GRANT
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]
    remote_keys = RemoteKeySets()

    def validate_token_request(self) -> None:
        client: Client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE) or client.channel != KIOSK:
            raise UnauthorizedClientError(
                description="only a kiosk registered for this grant may assert an ID card"
            )
        self.request.client = client
        raw = self.request.form.get("assertion")
        if not raw:
            raise InvalidRequestError(description="assertion is required")
        scopes = _scopes(self.request.payload.scope, client)
        card = self.read_assertion(raw, client)
        desk: KioskDesk | None = self.server.kiosk
        if desk is None:  # app.py attaches it (idp/channels/kiosk.py)
            raise ServiceUnavailableError("the kiosk channel")
        person = desk.identify(self.request.db, client, card, ip=self.request.remote_addr)
        self._lifetime = min(self.server.tokens.access_ttl, desk.session_idle)
        ready = self._signed_in(client, person, scopes)
        self.request.user, self._scope = authorization_for(self.server, ready, client)

    @hooked
    def create_token_response(self) -> tuple[int, dict[str, Any], Any]:
        client: Client = self.request.client
        user = self.request.user
        token = self.generate_token(
            user=user, scope=self._scope, expires_in=self._lifetime, include_refresh_token=False
        )
        record_event(
            self.request.db,
            Event.kiosk_tokens_issued,
            person_id=user.person_id,
            actor=f"client:{client.client_id}",
            channel=KIOSK,
            session_id=user.sid,
            ip=self.request.remote_addr,
            user_agent=self.request.user_agent,
            detail={"client_id": client.client_id, "scope": token["scope"], "acr": user.acr},
        )
        self.request.db.commit()
        return 200, token, self.TOKEN_RESPONSE_HEADER

    # -- the assertion ---------------------------------------------------------------------
    def read_assertion(self, raw: str, client: Client) -> Card:
        """The card the assertion names, once its signature and claims hold; its `jti`
        is remembered last, so that only an assertion we would take can use one up."""
        try:
            claims = jwt.decode(raw, self._keys(client), algorithms=ALGORITHMS).claims
        except (JoseError, ValueError):
            raise InvalidGrantError(
                description="the assertion is not signed by a key registered for this kiosk"
            ) from None
        if claims.get("iss") != client.client_id:
            raise InvalidGrantError(description="iss must be this kiosk's client_id")
        aud = claims.get("aud")
        if (aud[0] if isinstance(aud, list) and len(aud) == 1 else aud) not in self._audiences():
            raise InvalidGrantError(description="aud must be the issuer or the token endpoint")
        iat, exp, now = _seconds(claims, "iat"), _seconds(claims, "exp"), time.time()
        if iat > now + SKEW:
            raise InvalidGrantError(description="iat is in the future")
        if now - iat > MAX_AGE:
            raise InvalidGrantError(description=f"the assertion is older than {MAX_AGE} s")
        if exp <= now - SKEW or exp - iat > MAX_LIFETIME:
            raise InvalidGrantError(description="the assertion has expired or lives too long")
        if "nbf" in claims and _seconds(claims, "nbf") > now + SKEW:
            raise InvalidGrantError(description="the assertion is not valid yet")
        card = Card(_text(claims, "sub"), _text(claims, "name"), _text(claims, "face_capture"))
        jti = _text(claims, "jti")
        ttl = max(int(exp - now) + SKEW, 1)
        store = self.server.artifacts.store
        if not store.add_once(JTI_KIND, f"{client.client_id}:{jti}", {"exp": exp}, ttl):
            raise InvalidGrantError(description="this assertion has been used already")
        return card

    def _keys(self, client: Client) -> KeySet:
        if client.jwks:
            return KeySet.import_key_set(cast(Any, client.jwks))
        if client.jwks_uri:
            return self.remote_keys.get(client.jwks_uri)
        raise InvalidGrantError(description="the kiosk has no registered keys")

    def _audiences(self) -> tuple[str, str]:
        return self.server.issuer, f"{self.server.issuer}{TOKEN_PATH}"

    # -- the sign-in -----------------------------------------------------------------------
    def _signed_in(self, client: Client, person: Person, scopes: list[str]) -> Ready:
        """The person's session at the kiosk, decided by the same checks as every sign-in.
        The person chose the service on the kiosk's screen: no consent page follows."""
        txns = Transactions(self.server.artifacts.store)
        txn = Transaction(
            kind=Kind.kiosk_card,
            requester=Requester(
                id=client.client_id,
                name=client.name,
                sector=client.sector_identifier,
                first_party=client.first_party,
                scopes=tuple(client.scopes),
            ),
            protocol=PROTOCOL,
            reference={"client_id": client.client_id},
            channel=client.channel,
            scopes=scopes,
        )
        outcome = settle(
            txns,
            txn,
            evidence(person, ID_CARD, FACE),
            sessions=self.server.sessions,
            db=self.request.db,
            consent_given=True,
            device=client.name,
            ip=self.request.remote_addr,
            user_agent=self.request.user_agent,
        )
        if isinstance(outcome, Ready):
            return outcome
        if isinstance(outcome, Refused):  # e.g. a newer agreement, to accept on the web
            raise InvalidGrantError(description=outcome.reason)
        if isinstance(outcome, Halted):
            raise InvalidGrantError(description=outcome.description)
        raise InvalidGrantError(description="this sign-in needs a page")  # passive: never


def _scopes(asked: str | None, client: Client) -> list[str]:
    """The scopes asked for (the client's registered ones when none are), every one
    registered for the client."""
    scopes = list(dict.fromkeys((asked or "").split())) or list(client.scopes)
    unregistered = [s for s in scopes if s not in client.scopes]
    if unregistered:
        raise InvalidScopeError(
            description="not registered for this client: " + " ".join(unregistered)
        )
    return scopes


def _seconds(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidGrantError(description=f"{name} is required in the assertion, in seconds")
    return float(value)


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value or len(value) > MAX_CLAIM:
        raise InvalidGrantError(description=f"{name} is required in the assertion")
    return value
