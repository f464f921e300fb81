"""The authentication transaction's record (idp/authn/transaction.py): which step may follow
which state, the record as it goes to the store and back, its expiry, and the store that
hands a transaction out once. A step out of turn (a stale page, a replay) must change
nothing."""

from __future__ import annotations

import dataclasses
import json
from itertools import product

import pytest

from idp.authn import transaction as module
from idp.authn.transaction import (
    ASKING,
    KIND,
    TRANSITIONS,
    TTL,
    Kind,
    Requester,
    State,
    Transaction,
    TransitionError,
)
from tests.unit.authn_support import NOW, RP, Clock, transactions, txn

S = State
# Written out here rather than read from TRANSITIONS: the table under test.
ALLOWED: dict[State, set[State]] = {
    S.received: {S.signing_in, S.stepping_up, S.accepting, S.choosing, S.consenting, S.ready},
    S.signing_in: {S.received},
    S.stepping_up: {S.received},
    S.accepting: {S.received},
    S.choosing: {S.received},
    S.consenting: {S.received, S.ready},
    S.ready: set(),
}
EVERY_PAIR = list(product(State, State))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(module, "time", fake)
    return fake


# -- the transition table ------------------------------------------------------------------
def test_the_table_names_every_state_and_nothing_else() -> None:
    assert set(TRANSITIONS) == set(State)
    assert {state: set(to) for state, to in TRANSITIONS.items()} == ALLOWED
    assert {S.signing_in, S.stepping_up, S.accepting, S.choosing, S.consenting} == ASKING


@pytest.mark.parametrize(("start", "to"), [p for p in EVERY_PAIR if p[1] in ALLOWED[p[0]]])
def test_an_allowed_step_moves_the_transaction(start: State, to: State) -> None:
    t = txn(state=start)
    t.move(to)
    assert t.state is to


@pytest.mark.parametrize(("start", "to"), [p for p in EVERY_PAIR if p[1] not in ALLOWED[p[0]]])
def test_a_step_out_of_turn_is_refused_and_changes_nothing(start: State, to: State) -> None:
    t = txn(state=start)
    with pytest.raises(TransitionError, match=f"{start} -> {to}"):
        t.move(to)
    assert t.state is start


def test_a_finished_transaction_goes_nowhere() -> None:
    for to in State:
        with pytest.raises(TransitionError):
            txn(state=State.ready).move(to)


def test_no_asking_state_leads_straight_to_another_page() -> None:
    """A page's answer always goes back through the checks (received) before the next."""
    for start, to in product(ASKING, ASKING):
        with pytest.raises(TransitionError):
            txn(state=start).move(to)


def test_a_transition_error_is_a_value_error() -> None:
    assert issubclass(TransitionError, ValueError)


# -- a new transaction ---------------------------------------------------------------------
def test_a_new_transaction_waits_for_its_checks_and_asks_nothing_by_default(clock: Clock) -> None:
    t = Transaction(Kind.sign_in, RP, "oidc", {})
    assert t.state is State.received
    assert (t.channel, t.level, t.max_age) == ("web", 0, None)
    assert not (t.forced or t.passive or t.consent_forced or t.sign_in_asked or t.act_for_chosen)
    assert t.session_id is t.stale_session is t.act_for is t.login_hint is None
    assert t.scopes == [] and t.claims == []
    assert t.created_at == NOW


def test_each_transaction_has_its_own_unguessable_id() -> None:
    ids = {Transaction(Kind.sign_in, RP, "oidc", {}).id for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) >= 22 for i in ids)  # 16 random bytes, base64url


def test_lists_are_not_shared_between_transactions() -> None:
    one, two = Transaction(Kind.sign_in, RP, "oidc", {}), Transaction(Kind.sign_in, RP, "oidc", {})
    one.scopes.append("openid")
    assert two.scopes == []


def test_it_expires_ten_minutes_after_it_was_made() -> None:
    assert TTL == 600
    assert txn(created_at=1_000).expires_at == 1_600


# -- a fresh sign-in -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("asked", "stale", "back_with", "fresh"),
    [
        (False, None, "s-2", False),  # never sent to sign in
        (False, "s-1", "s-2", False),
        (True, "s-1", "s-2", True),  # another session than the one seen
        (True, "s-1", "s-1", False),  # back with the same: no sign-in happened
        (True, None, "s-1", True),  # nobody was signed in, or a step-up
    ],
)
def test_a_fresh_sign_in_is_another_session_after_being_sent(
    asked: bool, stale: str | None, back_with: str, fresh: bool
) -> None:
    t = txn(sign_in_asked=asked, stale_session=stale)
    assert t.signed_in_afresh(back_with) is fresh


def test_the_session_seen_read_back_from_the_store_is_still_the_same_session() -> None:
    """Ids come back from Redis and from cookies as new string objects: equal, not identical."""
    t = Transaction.from_record(
        json.loads(json.dumps(txn(sign_in_asked=True, stale_session="s-1").to_record()))
    )
    assert not t.signed_in_afresh("".join(["s", "-1"]))


def test_who_asks_cannot_be_changed_on_a_transaction() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        RP.scopes = ("idcard",)  # type: ignore[misc]
    assert "idcard" not in RP.scopes


# -- the record ----------------------------------------------------------------------------
def full_transaction() -> Transaction:
    requester = Requester("rp-9", "RP nine", "https://sector.example.test", True, ("a", "b"), "l")
    return Transaction(
        kind=Kind.step_up,
        requester=requester,
        protocol="account",
        reference={"next": "/account", "nested": {"n": [1, 2]}},
        channel="kiosk",
        level=4,
        max_age=120,
        forced=True,
        passive=True,
        consent_forced=True,
        login_hint="tester",
        scopes=["openid", "org"],
        claims=["phone_number"],
        state=State.consenting,
        created_at=1_234,
        session_id="s-1",
        sign_in_asked=True,
        stale_session="s-0",
        act_for="org-1",
        act_for_chosen=True,
    )


def test_the_record_round_trip_keeps_every_field() -> None:
    t = full_transaction()
    back = Transaction.from_record(json.loads(json.dumps(t.to_record())))
    assert back == t
    assert type(back.kind) is Kind and type(back.state) is State
    assert type(back.requester) is Requester and back.requester.scopes == ("a", "b")


def test_the_record_is_plain_data() -> None:
    record = json.loads(json.dumps(full_transaction().to_record()))  # as Redis keeps it
    assert record["requester"]["scopes"] == ["a", "b"]
    assert record["requester"]["id"] == "rp-9"
    assert record["state"] == "consenting" and record["kind"] == "step_up"


def test_a_record_with_an_unknown_state_is_refused() -> None:
    record = {**txn().to_record(), "state": "hacked"}
    with pytest.raises(ValueError, match="hacked"):
        Transaction.from_record(record)


# -- the store -----------------------------------------------------------------------------
def test_a_saved_transaction_lives_for_what_is_left_of_its_ten_minutes(clock: Clock) -> None:
    txns, fake = transactions()
    t = txn(created_at=int(clock.now) - 100)
    txns.save(t)
    assert fake.ttls == {(KIND, t.id): 500}
    assert txns.find(t.id) == t


def test_one_second_left_is_still_saved(clock: Clock) -> None:
    txns, fake = transactions()
    t = txn(created_at=int(clock.now) - TTL + 1)
    txns.save(t)
    assert fake.ttls == {(KIND, t.id): 1}


@pytest.mark.parametrize("age", [TTL, TTL + 1, 10 * TTL])
def test_an_expired_transaction_is_not_saved(clock: Clock, age: int) -> None:
    txns, fake = transactions()
    t = txn(created_at=int(clock.now) - age)
    txns.save(t)
    assert fake.records == {}
    assert txns.find(t.id) is None


def test_saving_again_replaces_the_record(clock: Clock) -> None:
    txns, _ = transactions()
    t = txn(created_at=int(clock.now))
    txns.save(t)
    t.move(State.signing_in)
    txns.save(t)
    found = txns.find(t.id)
    assert found is not None and found.state is State.signing_in


def test_find_leaves_the_record_and_consume_hands_it_out_once() -> None:
    txns, fake = transactions()
    t = txn()
    txns.save(t)
    assert txns.find(t.id) == t
    assert txns.find(t.id) == t
    assert txns.consume(t.id) == t
    assert txns.consume(t.id) is None
    assert txns.find(t.id) is None
    assert fake.records == {}


def test_an_unknown_id_finds_nothing() -> None:
    txns, _ = transactions()
    txns.save(txn())
    assert txns.find("no-such-id") is None
    assert txns.consume("no-such-id") is None


def test_transactions_are_kept_under_their_own_kind() -> None:
    txns, fake = transactions()
    t = txn()
    txns.save(t)
    assert KIND == "authn-txn"
    assert list(fake.records) == [(KIND, t.id)]
