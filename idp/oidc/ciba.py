"""OpenID CIBA Core 1.0 for the hotline: the backchannel authentication endpoint, and the
record of each request that the token endpoint's CIBA grant (idp/oidc/grants/ciba.py)
answers when the agent desk polls.

    desk --POST /backchannel_authenticate, client authenticated--> [section 7.2 checks]
        --no--> section 13 error: invalid_request, invalid_scope, unknown_user_id,
                missing_user_code, invalid_user_code, invalid_binding_message,
                unauthorized_client, invalid_client, access_denied
        --yes--> TRANSACTION (idp/authn: kind ciba, the client's channel, level from
                 acr_values, a fresh sign-in no page can give)
                 + APPROVAL for the person named by login_hint (in their app at once,
                   with the binding_message)
                 + REQUEST (auth_req_id, interval, delivery mode: ciba_requests.py)
                 --> 200 {auth_req_id, expires_in, interval}
    the caller approves in the app, or reads back an SMS code (idp/channels/hotline.py)
        --> a ping-mode desk is told (idp/oidc/ciba_ping.py)
    the desk polls /token with auth_req_id --> tokens, or why not yet / not at all

login_hint is a phone number or a resident ID number, found by its blind index. A hint
that names nobody who could approve (unknown, malformed but plausible, an inactive
account) gets one and the same `unknown_user_id`. id_token_hint and login_hint_token are
not supported (a pairwise `sub` names nobody here) and are refused with `invalid_request`.
A user_code, for clients registered to send one, is the caller's password: wrong tries
count against the same per-account lockout as the sign-in page's.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import (
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.endpoint import Endpoint, EndpointRequest

from idp.accounts.models import Person
from idp.accounts.services import InvalidIdentifierError, normalise_phone
from idp.accounts.throttle import LoginThrottle, account_key
from idp.audit import record_event
from idp.audit.events import Event
from idp.authn.approvals import Approval, ApprovalKind, Approvals
from idp.authn.release import loa_number
from idp.authn.transaction import TTL as TRANSACTION_TTL
from idp.authn.transaction import Kind, Requester, Transaction, Transactions
from idp.errors import TooManyAttemptsError
from idp.oidc.ciba_requests import CibaRequest, CibaRequests
from idp.oidc.features import BACKCHANNEL_AUTHENTICATION, CIBA_GRANT, FEATURES
from idp.oidc.models import Client
from idp.oidc.parameters import DESCRIBABLE, refuse_repeated_parameters

UNKNOWN_KIND, BLOCKED_KIND = "ciba-unknown-hints", "ciba-blocked-desk"
DEFAULT_EXPIRY = 300  # seconds to approve, unless requested_expiry asks for other
MAX_EXPIRY = TRANSACTION_TTL  # the transaction behind it lives no longer
MAX_BINDING_MESSAGE = 64
MAX_OPEN_PER_PERSON = 3  # requests waiting on one person's app: beyond, access_denied
# login_hints naming nobody, per desk and window: beyond, every request of the desk is
# refused for the rest of the window (a desk must not become a directory of who is registered)
MAX_UNKNOWN, UNKNOWN_WINDOW = 60, 600
USER_CODE_FAILURES = 5  # wrong user codes (passwords) before the account is locked ...
USER_CODE_LOCKOUT = 900  # ... for this long (the sign-in page's counter, shared)
HINTS = ("login_hint", "id_token_hint", "login_hint_token")
UNKNOWN_USER = "the login_hint does not name a person who can be asked"
_EXPIRY = re.compile(r"[0-9]{1,9}")
_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{1,1024}")  # RFC 6750 b64token, bounded


# -- section 13's errors that OAuth 2.0 does not have -----------------------------------------
class UnknownUserIdError(OAuth2Error):
    error = "unknown_user_id"


class MissingUserCodeError(OAuth2Error):
    error = "missing_user_code"


class InvalidUserCodeError(OAuth2Error):
    error = "invalid_user_code"


class InvalidBindingMessageError(OAuth2Error):
    error = "invalid_binding_message"


class RequestDeniedError(OAuth2Error):
    error = "access_denied"
    status_code = 403


# -- the endpoint -------------------------------------------------------------------------------
@dataclass
class AuthenticationRequest(EndpointRequest):
    """A request that passed section 7.2's checks, for the person it names."""

    person: Person | None = None
    scopes: list[str] = field(default_factory=list)
    binding_message: str | None = None
    level: int = 0
    expires_in: int = DEFAULT_EXPIRY
    notification_token: str | None = None


class BackchannelAuthenticationEndpoint(Endpoint):
    """POST /backchannel_authenticate (sections 7.1 to 7.3 and 13), in the machine-to-
    machine pipeline: the client authenticates as at the token endpoint."""

    ENDPOINT_NAME = BACKCHANNEL_AUTHENTICATION.name
    CLIENT_AUTH_METHODS = list(FEATURES.confidential_auth_methods)

    def validate_request(self, request: OAuth2Request) -> AuthenticationRequest:
        refuse_repeated_parameters(request)
        client: Client = self.server.authenticate_client(
            request, self.CLIENT_AUTH_METHODS, self.ENDPOINT_NAME
        )
        request.client = client
        if not client.check_grant_type(CIBA_GRANT):
            raise UnauthorizedClientError(description=f"this client may not use {CIBA_GRANT}")
        data = request.payload.data
        asked = AuthenticationRequest(
            request,
            client,
            scopes=_scopes(data.get("scope"), client),
            binding_message=_binding_message(data.get("binding_message")),
            level=_level(data.get("acr_values")),
            expires_in=_expiry(data.get("requested_expiry")),
            notification_token=_notification_token(data.get("client_notification_token"), client),
        )
        hint = _login_hint(data)
        user_code = _user_code(data.get("user_code"), client)
        asked.person = self._person(request, hint)
        if user_code is not None:
            self._check_user_code(request, asked.person, user_code)
        open_ones = Approvals(self.server.artifacts.store).pending_for(asked.person.id)
        if sum(a.kind is ApprovalKind.ciba for a in open_ones) >= MAX_OPEN_PER_PERSON:
            raise RequestDeniedError(description="too many requests wait for this person")
        return asked

    def create_response(self, validated: EndpointRequest) -> tuple[int, Any, list[Any]]:
        asked = validated
        assert isinstance(asked, AuthenticationRequest) and asked.person is not None
        client: Client = asked.client
        store = self.server.artifacts.store
        auth_req_id = secrets.token_urlsafe(32)
        txn = Transaction(
            kind=Kind.ciba,
            requester=requester_for(client),
            protocol="oidc",
            reference={"auth_req_id": auth_req_id, "client_id": client.client_id},
            channel=client.channel,
            level=asked.level,
            forced=True,  # always a fresh approval (DESIGN.md)
            passive=True,  # no page can be shown on a phone call
            scopes=asked.scopes,
        )
        if not Transactions(store).save(txn):
            raise RuntimeError("a new transaction could not be stored")
        expires_at = int(time.time()) + asked.expires_in
        approval = Approvals(store).create(
            Approval(
                kind=ApprovalKind.ciba,
                txn_id=txn.id,
                client_name=client.name,
                expires_at=expires_at,
                person_id=asked.person.id,
                binding_message=asked.binding_message,
                scopes=asked.scopes,
                level=asked.level,
            )
        )
        made = CibaRequests(store).create(
            CibaRequest(
                id=auth_req_id,
                client_id=client.client_id,
                txn_id=txn.id,
                approval_id=approval.id,
                person_id=asked.person.id,
                expires_at=expires_at,
                mode=client.backchannel_token_delivery_mode or "poll",
                notification_token=asked.notification_token,
            )
        )
        self._record(asked.request, Event.ciba_requested, client, asked.person.id, made)
        body = {"auth_req_id": made.id, "expires_in": asked.expires_in, "interval": made.interval}
        return 200, body, default_json_headers

    # -- who is asked ----------------------------------------------------------------------
    def _person(self, request: OAuth2Request, hint: str) -> Person:
        """The active person `hint` names by phone or ID number; anything else is one and
        the same unknown_user_id, which says nothing more."""
        store, client_id = self.server.artifacts.store, request.client.client_id
        if store.find(BLOCKED_KIND, client_id) is not None:
            raise RequestDeniedError(description="too many requests named nobody: wait a while")
        person = None
        if _phone_or_id_number(hint):
            person = self.server.accounts.find_by_login(request.db, hint)
        if person is None or not person.active:
            if store.incr(UNKNOWN_KIND, client_id, UNKNOWN_WINDOW) >= MAX_UNKNOWN:
                store.upsert(BLOCKED_KIND, client_id, {"client_id": client_id}, UNKNOWN_WINDOW)
            self._record(request, Event.ciba_refused, request.client, None, None)
            raise UnknownUserIdError(description=UNKNOWN_USER)
        return person

    def _check_user_code(self, request: OAuth2Request, person: Person, user_code: str) -> None:
        throttle = LoginThrottle(
            self.server.artifacts.store,
            max_failures=USER_CODE_FAILURES,
            lockout_seconds=USER_CODE_LOCKOUT,
            address_max_failures=0,
            address_window=1,
        )
        try:
            attempt = throttle.attempt(account_key(person.id, ""), None)
        except TooManyAttemptsError as exc:
            raise InvalidUserCodeError(
                description=f"too many wrong user codes: try again in {exc.retry_after} s"
            ) from None
        if not self.server.accounts.check_password(person, user_code):
            throttle.failed(attempt)
            self._record(request, Event.ciba_refused, request.client, person.id, None)
            raise InvalidUserCodeError(description="the user_code is not right")
        throttle.succeeded(attempt)

    def _record(
        self,
        request: OAuth2Request,
        event: Event,
        client: Client,
        person_id: str | None,
        made: CibaRequest | None,
    ) -> None:
        detail: dict[str, Any] = {"client_id": client.client_id}
        if made is not None:
            detail.update(mode=made.mode, expires_at=made.expires_at)
        record_event(
            request.db,
            event,
            person_id=person_id,
            actor=f"client:{client.client_id}",
            channel=client.channel,
            detail=detail,
            ip=getattr(request, "remote_addr", None),
            user_agent=getattr(request, "user_agent", None),
        )
        request.db.commit()


def requester_for(client: Client) -> Requester:
    return Requester(
        id=client.client_id,
        name=client.name,
        sector=client.sector_identifier,
        first_party=client.first_party,
        scopes=tuple(client.scopes),
    )


# -- section 7.1's parameters, one by one ---------------------------------------------------
def _scopes(scope: str | None, client: Client) -> list[str]:
    if not scope:
        raise InvalidRequestError(description="scope is required")
    scopes = list(dict.fromkeys(scope.split()))
    if "openid" not in scopes:
        raise InvalidScopeError(description="the scope must include openid")
    unregistered = [s for s in scopes if s not in client.scopes]
    if unregistered:
        named = " ".join(unregistered)
        shown = named if DESCRIBABLE.fullmatch(named) and len(named) < 200 else "some scopes"
        raise InvalidScopeError(description=f"not registered for this client: {shown}")
    return scopes


def _login_hint(data: Any) -> str:
    given = [name for name in HINTS if data.get(name)]
    if len(given) != 1:
        raise InvalidRequestError(
            description="send exactly one of login_hint, id_token_hint, login_hint_token"
        )
    if given[0] != "login_hint":
        raise InvalidRequestError(
            description=f"{given[0]} is not supported: send login_hint (a phone or ID number)"
        )
    return str(data["login_hint"])


def _phone_or_id_number(hint: str) -> bool:
    if len(hint) > 32 or not hint.isprintable():
        return False
    if _RESIDENT_ID.fullmatch(hint.replace(" ", "").upper()):
        return True
    try:
        normalise_phone(hint)
    except InvalidIdentifierError:
        return False
    return True


def _binding_message(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) > MAX_BINDING_MESSAGE or not value.isprintable() or not value.strip():
        raise InvalidBindingMessageError(
            description=f"a binding_message is 1 to {MAX_BINDING_MESSAGE} printable characters"
        )
    return value


def _level(acr_values: str | None) -> int:
    """The lowest level among those asked: any of them satisfies the desk (as at
    /authorize, idp/oidc/authorize.py)."""
    wanted = [loa_number(v) for v in (acr_values or "").split()]
    wanted = [w for w in wanted if w > 0]
    return min(wanted) if wanted else 0


def _expiry(requested: str | None) -> int:
    if requested is None:
        return DEFAULT_EXPIRY
    if not _EXPIRY.fullmatch(requested) or int(requested) == 0:
        raise InvalidRequestError(description="requested_expiry is a positive whole number")
    return min(int(requested), MAX_EXPIRY)


def _notification_token(token: str | None, client: Client) -> str | None:
    if client.backchannel_token_delivery_mode != "ping":
        return None
    if not token:
        raise InvalidRequestError(description="client_notification_token is required (ping)")
    if not _TOKEN.fullmatch(token):
        raise InvalidRequestError(description="client_notification_token is not a bearer token")
    return token


def _user_code(user_code: str | None, client: Client) -> str | None:
    if not client.backchannel_user_code_parameter:
        if user_code is not None:
            raise InvalidRequestError(description="this client is not registered for user_code")
        return None
    if not user_code:
        raise MissingUserCodeError(description="this client must send the caller's user_code")
    return user_code
