"""Helpers shared by the idp/authn unit tests: a dict-backed artifact store, a session store
that records what it was asked, a clock to put in place of `time`, and synthetic persons,
clients, consents, agreements and organisations (made with the models on the migrated
SQLite database where a check reads them)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from sqlalchemy.orm import Session

from connectors.synthetic import uscc_check
from idp.accounts.models import Person
from idp.accounts.sessions import SessionStore, SsoSession
from idp.authn.models import Consent
from idp.authn.policy import Situation
from idp.authn.transaction import Kind, Requester, Transaction, Transactions
from idp.db import utcnow
from idp.oidc.models import Client
from idp.store import ArtifactStore
from realname.models import AgreementAcceptance
from realname.organizations import AgentAuthorisation, Membership, Organization

LOA = "urn:cn:gov:idp:loa:"
NOW = 1_900_000_000  # what a Clock says unless moved
CLIENT_ID = "rp-authn-test"
EVERY_SCOPE = ("openid", "profile", "phone", "realname", "org", "idcard", "offline_access")
RP = Requester(
    id=CLIENT_ID, name="Synthetic RP", scopes=("openid", "profile", "phone", "realname", "org")
)


class FakeArtifacts:
    """The ArtifactStore methods a transaction store may use, over a dict. Records go
    through JSON as they do to Redis, so a record that only survives in memory fails."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], str] = {}
        self.ttls: dict[tuple[str, str], int] = {}

    def upsert(self, kind: str, ident: str, payload: dict[str, Any], ttl: int) -> None:
        if ttl <= 0:
            raise ValueError("every artifact needs a positive TTL")  # as ArtifactStore
        self.records[kind, ident] = json.dumps(payload)
        self.ttls[kind, ident] = ttl

    def update(self, kind: str, ident: str, payload: dict[str, Any], ttl: int) -> bool:
        """SET XX: only a record still there is replaced."""
        if (kind, ident) not in self.records:
            return False
        self.upsert(kind, ident, payload, ttl)
        return True

    def add_once(self, kind: str, ident: str, payload: dict[str, Any], ttl: int) -> bool:
        """SET NX: only a record not there yet is stored."""
        if (kind, ident) in self.records:
            return False
        self.upsert(kind, ident, payload, ttl)
        return True

    def find(self, kind: str, ident: str) -> dict[str, Any] | None:
        raw = self.records.get((kind, ident))
        return json.loads(raw) if raw is not None else None

    def consume(self, kind: str, ident: str) -> dict[str, Any] | None:
        raw = self.records.pop((kind, ident), None)
        return json.loads(raw) if raw is not None else None


def transactions() -> tuple[Transactions, FakeArtifacts]:
    fake = FakeArtifacts()
    return Transactions(cast(ArtifactStore, fake)), fake


@dataclass
class FakeSessions:
    """A SessionStore that records `create` and `add_method` and answers as told."""

    created: list[dict[str, Any]] = field(default_factory=list)
    added: list[tuple[str, str, str]] = field(default_factory=list)
    add_answer: SsoSession | None = None

    def create(self, **values: Any) -> tuple[str, SsoSession]:
        self.created.append(values)
        now = int(time.time())
        made = SsoSession("s-new", values["person_id"], values["channel"], now,
                          values["amr"], values["acr"], now, now)  # fmt: skip
        return "cookie-token", made

    def add_method(self, session_id: str, method: str, acr: str) -> SsoSession | None:
        self.added.append((session_id, method, acr))
        return self.add_answer

    def as_store(self) -> SessionStore:
        return cast(SessionStore, self)


class Clock:
    """Stands in for the `time` module of the module under test (monkeypatched)."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def someone(loa: int, *, person_id: str = "p-1", status: str = "active") -> Person:
    """A person not in any database, for the checks and methods that read none."""
    return Person(id=person_id, username="tester", loa=loa, status=status)


def situation(
    t: Transaction, s: SsoSession | None, p: Person | None, db: Session | None = None
) -> Situation:
    return Situation(t, s, p, cast(Session, db))


def back_fresh(**values: Any) -> Transaction:
    """Sent to sign in while s-0 was the session; the session now is s-1."""
    return txn(sign_in_asked=True, stale_session="s-0", **values)


def sso(
    person_id: str, level: int, *, session_id: str = "s-1", auth_time: int | None = None
) -> SsoSession:
    now = int(time.time())
    when = now if auth_time is None else auth_time
    return SsoSession(session_id, person_id, "web", when, ["pwd"], f"{LOA}{level}", when, now)


def txn(**values: Any) -> Transaction:
    given: dict[str, Any] = {
        "kind": Kind.sign_in,
        "requester": RP,
        "protocol": "oidc",
        "reference": {"state": "xyz"},
        "scopes": ["openid"],
    }
    return Transaction(**{**given, **values})


def person(
    db: Session,
    *,
    loa: int = 3,
    status: str = "active",
    username: str = "p1",
    person_id: str | None = None,
) -> Person:
    made = Person(id=person_id, username=username, name="Test Person", loa=loa, status=status)
    db.add(made)
    db.flush()
    return made


def client(db: Session, *, client_id: str = CLIENT_ID, first_party: bool = False) -> Client:
    made = Client(
        client_id=client_id,
        name="Synthetic RP",
        redirect_uris=["https://rp.example.test/cb"],
        grant_types=["authorization_code"],
        scopes=list(EVERY_SCOPE),
        token_endpoint_auth_method="none",
        first_party=first_party,
    )
    db.add(made)
    db.flush()
    return made


def consent(
    db: Session, who: Person, scopes: list[str], claims: list[str] | None = None
) -> Consent:
    if db.get(Client, CLIENT_ID) is None:
        client(db)
    made = Consent(person_id=who.id, client_id=CLIENT_ID, scopes=scopes, claims=claims or [])
    db.add(made)
    db.flush()
    return made


def accepted(db: Session, who: Person, version: str, kind: str = "person") -> None:
    db.add(AgreementAcceptance(person_id=who.id, kind=kind, version=version, channel="web"))
    db.flush()


_serial = iter(range(1, 10_000))


def organization(db: Session, *, approved: bool = True, status: str = "active") -> Organization:
    first17 = f"9199000000{next(_serial):07d}"  # a synthetic code (region 990000)
    made = Organization(
        uscc=first17 + uscc_check(first17),
        name=f"Synthetic Org {first17[-7:]}",
        status=status,
        approved_at=utcnow() if approved else None,
    )
    db.add(made)
    db.flush()
    return made


def member(
    db: Session, who: Person, org: Organization, role: str, *, authorised_days: int | None = None
) -> Membership:
    """A membership; for an agent, an authorisation ending in `authorised_days` (negative:
    ended already; None: no authorisation at all)."""
    made = Membership(organization_id=org.id, person_id=who.id, role=role)
    db.add(made)
    db.flush()
    if authorised_days is not None:
        db.add(
            AgentAuthorisation(
                membership_id=made.id,
                scopes=["tax"],
                expires_at=utcnow() + timedelta(days=authorised_days),
            )
        )
        db.flush()
    return made
