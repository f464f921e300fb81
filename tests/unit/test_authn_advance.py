"""`advance` and `waiting` (idp/authn/__init__.py): a decision recorded on the transaction
(its state, the session seen, the session its answers belong to), a passive request refused
where a page would be shown, and a page's answer taken only from the session and state it
was shown for. A refusal changes nothing stored."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from idp.accounts.models import Person
from idp.authn import Asked, Halted, Ready, Refused, advance, waiting
from idp.authn.policy import Refusal, Step
from idp.authn.release import Release
from idp.authn.transaction import KIND, Requester, State, Transaction, TransitionError
from tests.unit.authn_support import (
    RP,
    FakeArtifacts,
    accepted,
    consent,
    member,
    organization,
    person,
    sso,
    transactions,
    txn,
)


@pytest.fixture
def db(factory: sessionmaker[Session]):
    with factory() as session:
        yield session


@pytest.fixture
def who(db: Session) -> Person:
    return person(db, loa=4)


def stored(fake: FakeArtifacts, t: Transaction) -> dict[str, Any] | None:
    return fake.find(KIND, t.id)


def saved(fake: FakeArtifacts, t: Transaction) -> Transaction | None:
    record = stored(fake, t)
    return Transaction.from_record(record) if record else None


# -- asking --------------------------------------------------------------------------------
def test_nobody_signed_in_is_sent_to_sign_in_and_that_is_recorded(db: Session) -> None:
    txns, fake = transactions()
    t = txn()
    outcome = advance(txns, t, None, db)
    assert outcome == Asked(t, Step.sign_in, "no_session")
    record = stored(fake, t)
    assert record is not None
    assert (record["state"], record["sign_in_asked"]) == ("signing_in", True)
    assert record["stale_session"] is None and record["session_id"] is None


def test_a_forced_sign_in_remembers_the_session_it_saw(db: Session, who: Person) -> None:
    txns, fake = transactions()
    t = txn(forced=True)
    outcome = advance(txns, t, sso(who.id, 3, session_id="s-old"), db)
    assert isinstance(outcome, Asked) and outcome.check == "forced_sign_in"
    assert (t.state, t.stale_session, t.session_id) == (State.signing_in, "s-old", None)
    assert saved(fake, t) == t


def test_back_with_a_new_session_goes_on_and_with_the_old_one_does_not(
    db: Session, who: Person
) -> None:
    consent(db, who, ["openid"])
    txns, _ = transactions()
    t = txn(forced=True)
    advance(txns, t, sso(who.id, 3, session_id="s-old"), db)
    again = advance(txns, t, sso(who.id, 3, session_id="s-old"), db)
    assert isinstance(again, Asked) and again.step is Step.sign_in
    assert t.stale_session == "s-old"  # still the one seen first
    done = advance(txns, t, sso(who.id, 3, session_id="s-new"), db)
    assert isinstance(done, Ready) and done.sso.id == "s-new"


def test_a_step_up_keeps_the_session_and_counts_as_a_sign_in(db: Session, who: Person) -> None:
    consent(db, who, ["openid"])
    txns, fake = transactions()
    t = txn(level=4, max_age=10**6)
    outcome = advance(txns, t, sso(who.id, 3, session_id="s-1"), db)
    assert isinstance(outcome, Asked) and outcome.step is Step.step_up
    assert (t.state, t.sign_in_asked, t.stale_session, t.session_id) == (
        State.stepping_up, True, None, None,
    )  # fmt: skip
    assert saved(fake, t) == t
    done = advance(txns, t, sso(who.id, 4, session_id="s-1"), db)
    assert isinstance(done, Ready)


@pytest.mark.parametrize(
    ("setup", "step", "state"),
    [
        ("agreement", Step.accept_agreement, State.accepting),
        ("organisation", Step.choose_act_for, State.choosing),
        ("nothing", Step.consent, State.consenting),
    ],
)
def test_a_page_binds_the_transaction_to_the_session(
    db: Session, who: Person, setup: str, step: Step, state: State
) -> None:
    if setup == "agreement":
        accepted(db, who, "2020-01")
    if setup == "organisation":
        member(db, who, organization(db), "legal_representative")
    txns, fake = transactions()
    t = txn(scopes=["openid", "org"])
    outcome = advance(txns, t, sso(who.id, 3, session_id="s-7"), db)
    assert isinstance(outcome, Asked) and outcome.step is step
    assert (t.state, t.session_id, t.sign_in_asked) == (state, "s-7", False)
    assert saved(fake, t) == t


def test_an_answered_page_runs_the_checks_again(db: Session, who: Person) -> None:
    txns, _ = transactions()
    t = txn()
    advance(txns, t, sso(who.id, 3), db)
    assert t.state is State.consenting
    consent(db, who, ["openid"])
    assert isinstance(advance(txns, t, sso(who.id, 3), db), Ready)


# -- ready ---------------------------------------------------------------------------------
def test_ready_records_the_session_and_gives_the_release(db: Session, who: Person) -> None:
    consent(db, who, ["openid", "phone"])
    txns, fake = transactions()
    t = txn(scopes=["openid", "phone", "idcard"], claims=["id_number", "phone_number"])
    session = sso(who.id, 3, session_id="s-9")
    outcome = advance(txns, t, session, db)
    assert outcome == Ready(
        t,
        session,
        Release(["openid", "phone"], frozenset(),
                frozenset({"sub", "phone_number", "phone_number_verified"})),
    )  # fmt: skip
    assert (t.state, t.session_id) == (State.ready, "s-9")
    assert saved(fake, t) == t


def test_a_finished_transaction_cannot_be_advanced_again(db: Session, who: Person) -> None:
    consent(db, who, ["openid"])
    txns, _ = transactions()
    t = txn()
    assert isinstance(advance(txns, t, sso(who.id, 3), db), Ready)
    with pytest.raises(TransitionError):
        advance(txns, t, sso(who.id, 3), db)


def test_an_outcome_cannot_be_changed_on_its_way_to_the_protocol(db: Session, who: Person) -> None:
    txns, _ = transactions()
    asked = advance(txns, txn(), None, db)
    consent(db, who, ["openid"])
    ready = advance(txns, txn(), sso(who.id, 3), db)
    refused = advance(txns, txn(level=5), sso(who.id, 3), db)
    halted = waiting(txns, "no-such-id", State.consenting, None)
    changes = [
        (asked, "step", Step.consent),
        (ready, "release", Release(["idcard"], frozenset(), frozenset({"id_number"}))),
        (refused, "refusal", Refusal.access_denied),
        (halted, "error", "none"),
    ]
    for outcome, name, value in changes:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(outcome, name, value)


# -- refusals ------------------------------------------------------------------------------
def test_a_level_out_of_reach_is_refused_and_nothing_is_stored(db: Session) -> None:
    real_name_only = person(db, loa=3)
    txns, fake = transactions()
    t = txn(level=4)
    outcome = advance(txns, t, sso(real_name_only.id, 3), db)
    assert isinstance(outcome, Refused)
    assert outcome.refusal is Refusal.unmet_authentication_requirements
    assert fake.records == {} and t.state is State.received


def passive_case(db: Session, who: Person, case: str) -> tuple[Transaction, Any]:
    session = sso(who.id, 3)
    if case == "nobody":
        return txn(passive=True), None
    if case == "forced":
        return txn(passive=True, forced=True), session
    if case == "step_up":
        return txn(passive=True, level=4), session
    if case == "agreement":
        accepted(db, who, "2020-01")
    if case == "act_for":
        member(db, who, organization(db), "agent", authorised_days=5)
    return txn(passive=True, scopes=["openid", "org"]), session


@pytest.mark.parametrize(
    ("case", "refusal"),
    [
        ("nobody", Refusal.login_required),
        ("forced", Refusal.login_required),
        ("step_up", Refusal.login_required),
        ("agreement", Refusal.interaction_required),
        ("act_for", Refusal.interaction_required),
        ("consent", Refusal.consent_required),
    ],
)
def test_a_passive_request_is_refused_where_a_page_would_be_shown(
    db: Session, who: Person, case: str, refusal: Refusal
) -> None:
    txns, fake = transactions()
    t, session = passive_case(db, who, case)
    outcome = advance(txns, t, session, db)
    assert isinstance(outcome, Refused) and outcome.refusal is refusal
    assert fake.records == {}
    assert (t.state, t.sign_in_asked, t.session_id) == (State.received, False, None)


def test_a_passive_request_with_nothing_to_ask_is_ready(db: Session, who: Person) -> None:
    consent(db, who, ["openid"])
    txns, _ = transactions()
    assert isinstance(advance(txns, txn(passive=True), sso(who.id, 3), db), Ready)


def test_a_disabled_or_deleted_persons_session_counts_as_nobody(db: Session) -> None:
    disabled = person(db, status="disabled")
    consent(db, disabled, ["openid"])
    txns, _ = transactions()
    for session in (sso(disabled.id, 3), sso("no-such-person", 3)):
        outcome = advance(txns, txn(), session, db)
        assert isinstance(outcome, Asked) and outcome.check == "no_session"


# -- waiting -------------------------------------------------------------------------------
def waiting_for_consent(db: Session, who: Person) -> tuple[Any, Transaction]:
    txns, _ = transactions()
    t = txn()
    advance(txns, t, sso(who.id, 3, session_id="s-1"), db)
    assert t.state is State.consenting
    return txns, t


def test_the_page_answers_its_own_transaction(db: Session, who: Person) -> None:
    txns, t = waiting_for_consent(db, who)
    assert waiting(txns, t.id, State.consenting, sso(who.id, 3, session_id="s-1")) == t


def test_another_sessions_answer_is_refused(db: Session, who: Person) -> None:
    txns, t = waiting_for_consent(db, who)
    answer = waiting(txns, t.id, State.consenting, sso(who.id, 3, session_id="s-2"))
    assert answer == Halted("expired", "this page belongs to another sign-in; start again")


@pytest.mark.parametrize("state", [s for s in State if s is not State.consenting])
def test_an_answer_for_another_state_is_refused(db: Session, who: Person, state: State) -> None:
    txns, t = waiting_for_consent(db, who)
    answer = waiting(txns, t.id, state, sso(who.id, 3, session_id="s-1"))
    assert answer == Halted("expired", "this page has expired; start again from the service")


def test_no_session_or_no_transaction_is_an_expired_page(db: Session, who: Person) -> None:
    txns, t = waiting_for_consent(db, who)
    expired = Halted("expired", "this page has expired; start again from the service")
    assert waiting(txns, t.id, State.consenting, None) == expired
    assert waiting(txns, "no-such-id", State.consenting, sso(who.id, 3, session_id="s-1")) == (
        expired
    )
    txns.consume(t.id)
    assert waiting(txns, t.id, State.consenting, sso(who.id, 3, session_id="s-1")) == expired


def test_a_transaction_never_bound_to_a_session_is_nobodys(db: Session) -> None:
    txns, _ = transactions()
    t = txn()
    advance(txns, t, None, db)  # signing in: no session's answers yet
    assert waiting(txns, t.id, State.signing_in, sso("p-1", 3, session_id="s-1")) == Halted(
        "expired", "this page belongs to another sign-in; start again"
    )


def test_the_requester_is_kept_through_the_store(db: Session, who: Person) -> None:
    requester = Requester("rp-z", "Z", sector="https://z.example.test", scopes=RP.scopes)
    txns, _ = transactions()
    t = txn(requester=requester)
    advance(txns, t, sso(who.id, 3, session_id="s-1"), db)
    found = waiting(txns, t.id, State.consenting, sso(who.id, 3, session_id="s-1"))
    assert isinstance(found, Transaction) and found.requester == requester
