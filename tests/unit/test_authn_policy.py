"""The named checks (idp/authn/policy.py), each on its own and at its boundary: when it
asks the person something, when it must not, and what it answers where no page may be
shown. Their order, and the first that answers, are tests/unit/test_authn_first_answer.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from idp.accounts.models import Person
from idp.accounts.sessions import SsoSession
from idp.authn import policy
from idp.authn.policy import CHECKS, Ask, Refusal, Refuse, Step
from idp.authn.transaction import Requester, Transaction
from realname.agreements import CURRENT, AgreementKind
from tests.unit.authn_support import (
    NOW,
    RP,
    Clock,
    accepted,
    back_fresh,
    consent,
    member,
    organization,
    person,
    situation,
    someone,
    sso,
    txn,
)

CURRENT_VERSION = CURRENT[AgreementKind.person].version


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(policy, "time", fake)
    return fake


@pytest.fixture
def db(factory: sessionmaker[Session]):
    with factory() as session:
        yield session


def run(check: str, t: Transaction, s: SsoSession | None, p: Person | None, db: Any = None) -> Any:
    (found,) = [c for c in CHECKS if c.name == check]
    return found.test(situation(t, s, p, db))


# -- no_session ----------------------------------------------------------------------------
def test_nobody_signed_in_is_asked_to_sign_in() -> None:
    assert run("no_session", txn(), None, None) == Ask(
        "no_session", Step.sign_in, Refusal.login_required, "nobody is signed in"
    )


def test_somebody_signed_in_is_not_asked_by_no_session() -> None:
    assert run("no_session", txn(), sso("p-1", 3), someone(3)) is None


# -- forced_sign_in ------------------------------------------------------------------------
def test_a_forced_sign_in_is_asked_whatever_the_session() -> None:
    answer = run("forced_sign_in", txn(forced=True), sso("p-1", 5), someone(5))
    assert isinstance(answer, Ask)
    assert (answer.check, answer.step, answer.if_passive) == (
        "forced_sign_in", Step.sign_in, Refusal.login_required,
    )  # fmt: skip


def test_not_forced_is_not_asked() -> None:
    assert run("forced_sign_in", txn(), sso("p-1", 3), someone(3)) is None


def test_back_from_the_forced_sign_in_with_a_new_session_is_enough() -> None:
    assert run("forced_sign_in", back_fresh(forced=True), sso("p-1", 3), someone(3)) is None


def test_back_with_the_session_seen_before_is_asked_again() -> None:
    t = txn(forced=True, sign_in_asked=True, stale_session="s-1")
    assert run("forced_sign_in", t, sso("p-1", 3), someone(3)) is not None


# -- max_age -------------------------------------------------------------------------------
def test_a_sign_in_exactly_max_age_old_is_still_good(clock: Clock) -> None:
    old = sso("p-1", 3, auth_time=NOW - 300)
    assert run("max_age", txn(max_age=300), old, someone(3)) is None


def test_a_second_older_than_max_age_is_asked_to_sign_in(clock: Clock) -> None:
    old = sso("p-1", 3, auth_time=NOW - 301)
    assert run("max_age", txn(max_age=300), old, someone(3)) == Ask(
        "max_age", Step.sign_in, Refusal.login_required, "the last sign-in is older than max_age"
    )


def test_max_age_zero_asks_once_any_time_has_passed(clock: Clock) -> None:
    assert run("max_age", txn(max_age=0), sso("p-1", 3, auth_time=NOW), someone(3)) is None
    clock.now = NOW + 0.5
    assert run("max_age", txn(max_age=0), sso("p-1", 3, auth_time=NOW), someone(3)) is not None


def test_no_max_age_never_asks(clock: Clock) -> None:
    ancient = sso("p-1", 3, auth_time=NOW - 10**8)
    assert run("max_age", txn(), ancient, someone(3)) is None


def test_a_fresh_sign_in_satisfies_max_age_whatever_the_clock(clock: Clock) -> None:
    old = sso("p-1", 3, auth_time=NOW - 10_000)
    assert run("max_age", back_fresh(max_age=60), old, someone(3)) is None


# -- level_below_requested -----------------------------------------------------------------
def test_a_session_below_a_level_a_password_reaches_signs_in_again() -> None:
    assert run("level_below_requested", txn(level=3), sso("p-1", 2), someone(3)) == Ask(
        "level_below_requested",
        Step.sign_in,
        Refusal.login_required,
        "signing in again reaches the level asked",
    )


@pytest.mark.parametrize(("session", "asked"), [(3, 3), (3, 2), (4, 3), (2, 0), (5, 4)])
def test_a_session_at_or_above_the_level_is_not_asked(session: int, asked: int) -> None:
    assert run("level_below_requested", txn(level=asked), sso("p-1", session), someone(5)) is None


def test_a_level_a_password_cannot_reach_is_not_a_sign_in() -> None:
    """A loa:4 person in a password session asking loa:4: signing in again would not help."""
    assert run("level_below_requested", txn(level=4), sso("p-1", 3), someone(4)) is None
    assert run("level_below_requested", txn(level=3), sso("p-1", 2), someone(2)) is None


def test_after_a_fresh_sign_in_the_level_is_not_asked_by_signing_in_again() -> None:
    assert run("level_below_requested", back_fresh(level=3), sso("p-1", 2), someone(3)) is None


def test_a_password_that_reaches_more_than_asked_is_a_sign_in_too() -> None:
    """A session from an acr this provider no longer issues (level 1) asking loa:2."""
    answer = run("level_below_requested", txn(level=2), sso("p-1", 1), someone(4))
    assert isinstance(answer, Ask) and answer.step is Step.sign_in


# -- step_up_reachable ---------------------------------------------------------------------
def test_a_loa4_person_in_a_password_session_asking_loa4_steps_up() -> None:
    assert run("step_up_reachable", txn(level=4), sso("p-1", 3), someone(4)) == Ask(
        "step_up_reachable", Step.step_up, Refusal.login_required,
        "a face check reaches the level asked",
    )  # fmt: skip


def test_a_counter_verified_person_steps_up_to_loa4_but_not_to_loa5() -> None:
    assert run("step_up_reachable", txn(level=4), sso("p-1", 3), someone(5)) is not None
    assert run("step_up_reachable", txn(level=5), sso("p-1", 4), someone(5)) is None


def test_a_face_check_that_reaches_more_than_asked_is_offered() -> None:
    answer = run("step_up_reachable", txn(level=3), sso("p-1", 2), someone(4))
    assert isinstance(answer, Ask) and answer.step is Step.step_up


def test_no_step_up_when_the_session_has_the_level_or_the_person_not() -> None:
    assert run("step_up_reachable", txn(level=4), sso("p-1", 4), someone(4)) is None
    assert run("step_up_reachable", txn(level=4), sso("p-1", 3), someone(3)) is None


def test_a_fresh_sign_in_does_not_excuse_a_step_up() -> None:
    assert run("step_up_reachable", back_fresh(level=4), sso("p-1", 3), someone(4)) is not None


# -- level_out_of_reach --------------------------------------------------------------------
def test_a_level_nothing_reaches_is_refused() -> None:
    assert run("level_out_of_reach", txn(level=4), sso("p-1", 3), someone(3)) == Refuse(
        "level_out_of_reach",
        Refusal.unmet_authentication_requirements,
        "the requested assurance level cannot be reached",
    )


def test_passive_and_out_of_reach_is_login_required() -> None:
    assert run("level_out_of_reach", txn(level=4, passive=True), sso("p-1", 3), someone(3)) == (
        Refuse("level_out_of_reach", Refusal.login_required, "sign-in needed")
    )


@pytest.mark.parametrize("passive", [False, True])
def test_a_session_at_the_level_is_never_refused(passive: bool) -> None:
    t = txn(level=3, passive=passive)
    assert run("level_out_of_reach", t, sso("p-1", 3), someone(3)) is None
    assert run("level_out_of_reach", txn(passive=passive), sso("p-1", 2), someone(2)) is None


# -- agreement_pending ---------------------------------------------------------------------
def test_an_older_agreement_accepted_asks_for_the_current_one(db: Session) -> None:
    who = person(db)
    accepted(db, who, "2020-01")
    assert run("agreement_pending", txn(), sso(who.id, 3), who, db) == Ask(
        "agreement_pending", Step.accept_agreement, Refusal.interaction_required,
        "a newer registration agreement must be accepted",
    )  # fmt: skip


def test_the_current_agreement_accepted_asks_nothing(db: Session) -> None:
    who = person(db)
    accepted(db, who, "2020-01")
    accepted(db, who, CURRENT_VERSION)
    assert run("agreement_pending", txn(), sso(who.id, 3), who, db) is None


def test_no_acceptance_at_all_asks_nothing(db: Session) -> None:
    """Counter-created and imported persons signed on paper; they are not asked here."""
    who = person(db)
    accepted(db, who, "2020-01", kind="organization")
    assert run("agreement_pending", txn(), sso(who.id, 3), who, db) is None


def test_another_persons_old_acceptance_asks_nothing_of_this_one(db: Session) -> None:
    who, other = person(db), person(db, username="other")
    accepted(db, other, "2020-01")
    accepted(db, who, CURRENT_VERSION)
    assert run("agreement_pending", txn(), sso(who.id, 3), who, db) is None


# -- act_for_needed ------------------------------------------------------------------------
def with_org_scope(**values: Any) -> Transaction:
    return txn(scopes=["openid", "org"], **values)


def test_the_org_scope_and_an_organisation_ask_whom_the_person_acts_for(db: Session) -> None:
    who = person(db)
    member(db, who, organization(db), "legal_representative")
    assert run("act_for_needed", with_org_scope(), sso(who.id, 3), who, db) == Ask(
        "act_for_needed", Step.choose_act_for, Refusal.interaction_required,
        "choose whom you act for",
    )  # fmt: skip


def test_an_authorised_agent_is_asked_too(db: Session) -> None:
    who = person(db)
    member(db, who, organization(db), "agent", authorised_days=30)
    assert run("act_for_needed", with_org_scope(), sso(who.id, 3), who, db) is not None


def test_a_choice_made_is_not_asked_again(db: Session) -> None:
    who = person(db)
    member(db, who, organization(db), "admin")
    t = with_org_scope(act_for_chosen=True)
    assert run("act_for_needed", t, sso(who.id, 3), who, db) is None


def test_no_org_scope_asked_or_registered_asks_nothing(db: Session) -> None:
    who = person(db)
    member(db, who, organization(db), "legal_representative")
    assert run("act_for_needed", txn(scopes=["openid"]), sso(who.id, 3), who, db) is None
    unregistered = Requester("rp-2", "No org", scopes=("openid",))
    t = with_org_scope(requester=unregistered)
    assert run("act_for_needed", t, sso(who.id, 3), who, db) is None


@pytest.mark.parametrize(
    ("approved", "status", "role", "days"),
    [
        (False, "active", "legal_representative", None),  # awaiting approval
        (True, "revoked", "legal_representative", None),  # struck off the registry
        (True, "active", "agent", None),  # an agent never authorised
        (True, "active", "agent", -1),  # an agent whose authorisation ended
    ],
)
def test_no_organisation_to_act_for_asks_nothing(
    db: Session, approved: bool, status: str, role: str, days: int | None
) -> None:
    who = person(db)
    member(db, who, organization(db, approved=approved, status=status), role, authorised_days=days)
    assert run("act_for_needed", with_org_scope(), sso(who.id, 3), who, db) is None


# -- consent_needed ------------------------------------------------------------------------
def test_nothing_consented_asks_for_consent(db: Session) -> None:
    who = person(db)
    assert run("consent_needed", txn(), sso(who.id, 3), who, db) == Ask(
        "consent_needed", Step.consent, Refusal.consent_required, "the person has not consented"
    )


def test_a_remembered_consent_that_covers_the_release_asks_nothing(db: Session) -> None:
    who = person(db)
    consent(db, who, ["openid", "profile"])
    t = txn(scopes=["openid", "profile", "email"])  # email is not registered: not released
    assert run("consent_needed", t, sso(who.id, 3), who, db) is None


def test_more_asked_than_remembered_asks_again(db: Session) -> None:
    who = person(db)
    consent(db, who, ["openid"])
    assert run("consent_needed", txn(scopes=["openid", "phone"]), sso(who.id, 3), who, db)
    assert run("consent_needed", txn(claims=["name"]), sso(who.id, 3), who, db)


def test_prompt_consent_asks_even_when_remembered(db: Session) -> None:
    who = person(db)
    consent(db, who, ["openid"])
    assert run("consent_needed", txn(consent_forced=True), sso(who.id, 3), who, db) is not None


def test_an_approval_on_the_app_is_the_consent_and_nothing_else_is(db: Session) -> None:
    who = person(db)
    assert run("consent_needed", txn(consent_given=True), sso(who.id, 3), who, db) is None
    asked = txn(consent_given=False, scopes=["openid", "phone"])
    assert run("consent_needed", asked, sso(who.id, 3), who, db) is not None


def test_a_first_party_service_is_not_asked(db: Session) -> None:
    who = person(db)
    mine = Requester("account", "Account centre", first_party=True, scopes=RP.scopes)
    assert run("consent_needed", txn(requester=mine), sso(who.id, 3), who, db) is None
