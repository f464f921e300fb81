"""The authentication transaction: one stored record per request to authenticate a person,
whatever the protocol or channel that asks.

    RECEIVED --ask the person--> SIGNING_IN | STEPPING_UP | ACCEPTING | CHOOSING | CONSENTING
        ^                              |
        '---------- the step done -----'          (any state) --expired--> gone
    any of them --no more to ask--> READY --the protocol answers--> consumed (gone)

A protocol (OIDC's /authorize today; device, CIBA, QR, SAML and CAS later) translates its
request into a `Transaction`; idp/authn/policy.py decides what the person must still do;
the person's steps (idp/flows/) act on it by id; the protocol turns the finished
transaction into its own answer. The record lives in Redis with a TTL and is consumed once.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from idp.store import ArtifactStore

KIND = "authn-txn"
TTL = 600  # ten minutes to sign in, step up, accept, choose and consent


class Kind(StrEnum):
    sign_in = "sign_in"  # a service asks who the person is
    step_up = "step_up"  # the person is signed in; a higher level is needed
    device = "device"  # RFC 8628: a kiosk or TV asks, the person answers elsewhere
    ciba = "ciba"  # OpenID CIBA: the hotline's desk asks, the caller answers on the app
    kiosk_card = "kiosk_card"  # RFC 7523: a kiosk read the ID card and the face


class State(StrEnum):
    received = "received"
    signing_in = "signing_in"
    stepping_up = "stepping_up"  # a face check in this session
    accepting = "accepting"  # a newer registration agreement
    choosing = "choosing"  # act for myself or one of my organisations
    consenting = "consenting"
    ready = "ready"  # nothing more to ask: the protocol answers


# Every state may also go back to `received` (a step done, the checks run again) and on
# to `ready`; the table says which person's step may follow which state.
ASKING = frozenset(
    {State.signing_in, State.stepping_up, State.accepting, State.choosing, State.consenting}
)
TRANSITIONS: dict[State, frozenset[State]] = {
    State.received: ASKING | {State.ready},
    State.signing_in: frozenset({State.received}),
    State.stepping_up: frozenset({State.received}),
    State.accepting: frozenset({State.received}),
    State.choosing: frozenset({State.received}),
    State.consenting: frozenset({State.received, State.ready}),
    State.ready: frozenset(),
}


class TransitionError(ValueError):
    """A step that does not follow from the transaction's state (a stale page, a replay)."""


@dataclass(frozen=True)
class Requester:
    """Who asks: a relying party (client) or a first-party service, and what it may read."""

    id: str
    name: str
    sector: str | None = None
    first_party: bool = False
    scopes: tuple[str, ...] = ()  # registered: nothing outside them is ever released
    logo_uri: str | None = None


@dataclass
class Transaction:
    kind: Kind
    requester: Requester
    protocol: str  # who answers when it is ready: "oidc", "account" (the account centre)
    reference: dict[str, Any]  # the protocol's own request, to answer it later
    channel: str = "web"
    level: int = 0  # the assurance level (loa number) wanted; 0: any
    max_age: int | None = None
    forced: bool = False  # a fresh sign-in, whatever the session (prompt=login, ForceAuthn)
    passive: bool = False  # no page may be shown (prompt=none, IsPassive)
    consent_forced: bool = False  # ask consent even if remembered (prompt=consent)
    login_hint: str | None = None
    scopes: list[str] = field(default_factory=list)  # asked for; release.py cuts them down
    claims: list[str] = field(default_factory=list)  # asked for by name
    id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    state: State = State.received
    created_at: int = field(default_factory=lambda: int(time.time()))
    session_id: str | None = None  # the SSO session the person's answers belong to
    sign_in_asked: bool = False
    stale_session: str | None = None  # the session seen when a fresh sign-in was asked
    sign_in_asked_at: int | None = None  # when: a session older than that is not fresh
    act_for: str | None = None  # organisation id, once chosen
    act_for_chosen: bool = False
    # the person agreed to exactly these scopes on their own device (an app approval shows
    # who asks and what it will read): no consent page follows
    consent_given: bool = False

    @property
    def expires_at(self) -> int:
        return self.created_at + TTL

    def move(self, to: State) -> None:
        if to not in TRANSITIONS[self.state]:
            raise TransitionError(f"{self.state} -> {to}")
        self.state = to

    # Not part of the record: whether this object was read from the store (or saved),
    # so that a save after the protocol consumed it never brings it back.
    stored: bool = field(default=False, compare=False, repr=False)

    def signed_in_afresh(self, session_id: str, auth_time: int | None = None) -> bool:
        """Sent to sign in (or step up) by this transaction and back with another session
        than the one seen then (a step-up keeps its session: none was seen), signed in
        after it was asked (an older session from elsewhere is not fresh): whatever made a
        fresh sign-in necessary (forced, max age, a level) is satisfied by it."""
        if not self.sign_in_asked or session_id == self.stale_session:
            return False
        asked = self.sign_in_asked_at
        return asked is None or auth_time is None or auth_time >= asked

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        del record["stored"]
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Transaction:
        requester = record["requester"]
        txn = cls(
            **{
                **record,
                "requester": Requester(**{**requester, "scopes": tuple(requester["scopes"])}),
            }
        )
        txn.kind, txn.state = Kind(txn.kind), State(txn.state)
        txn.stored = True
        return txn


class Transactions:
    """The store of transactions (Redis, TTL on every record)."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def save(self, txn: Transaction) -> bool:
        """Store a new transaction, or replace one still stored: False when it has been
        consumed (answered) or has expired meanwhile, and then nothing is written."""
        ttl = txn.expires_at - int(time.time())
        if ttl <= 0:
            return False
        if txn.stored:
            return self.store.update(KIND, txn.id, txn.to_record(), ttl)
        txn.stored = self.store.add_once(KIND, txn.id, txn.to_record(), ttl)
        return txn.stored

    def find(self, txn_id: str) -> Transaction | None:
        record = self.store.find(KIND, txn_id)
        return Transaction.from_record(record) if record else None

    def consume(self, txn_id: str) -> Transaction | None:
        """The transaction, removed in the same step: a second answer finds nothing."""
        record = self.store.consume(KIND, txn_id)
        return Transaction.from_record(record) if record else None
