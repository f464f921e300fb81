"""The checks as one ordered list (idp/authn/policy.py): the order the module's docstring
gives a reader, the first check that asks winning, and a fresh sign-in satisfying the
sign-in checks but never the agreement, act-for or consent pages."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy.orm import Session, sessionmaker

from idp.authn import policy
from idp.authn.policy import CHECKS, Ask, Refusal, Refuse, Step, first_answer
from realname.agreements import CURRENT, AgreementKind
from tests.unit.authn_support import (
    NOW,
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


# -- the list ------------------------------------------------------------------------------
def test_the_checks_run_in_the_order_the_docstring_lists() -> None:
    assert policy.__doc__ is not None
    listed = re.findall(r"^    ([a-z_]+) {2,}", policy.__doc__, flags=re.MULTILINE)
    assert listed == [check.name for check in CHECKS]
    assert listed == [
        "no_session", "forced_sign_in", "max_age", "level_below_requested",
        "step_up_reachable", "level_out_of_reach", "agreement_pending", "act_for_needed",
        "consent_needed",
    ]  # fmt: skip


def test_answers_and_checks_cannot_be_changed_once_made() -> None:
    ask = policy.no_session(situation(txn(), None, None))
    refuse = policy.level_out_of_reach(situation(txn(level=4), sso("p-1", 3), someone(3)))
    frozen = [
        (ask, "step", Step.consent),
        (refuse, "refusal", Refusal.access_denied),
        (situation(txn(), None, None), "person", someone(5)),
        (CHECKS[0], "test", lambda s: None),
    ]
    for record, name, value in frozen:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, name, value)


def test_each_check_is_the_function_of_its_name() -> None:
    for check in CHECKS:
        assert check.test is getattr(policy, check.name)


# -- first_answer: the first check that asks wins -----------------------------------------
def test_nothing_to_ask_is_none(db: Session) -> None:
    who = person(db, loa=4)
    consent(db, who, ["openid"])
    assert first_answer(situation(txn(level=3), sso(who.id, 3), who, db)) is None


def test_nobody_signed_in_comes_before_everything() -> None:
    t = txn(forced=True, level=5, passive=True, max_age=0)
    answer = first_answer(situation(t, None, None))
    assert isinstance(answer, Ask) and answer.check == "no_session"


def test_a_forced_sign_in_comes_before_a_level_out_of_reach(clock: Clock) -> None:
    t = txn(forced=True, level=5, max_age=0)
    answer = first_answer(situation(t, sso("p-1", 3, auth_time=NOW - 10), someone(3)))
    assert isinstance(answer, Ask) and answer.check == "forced_sign_in"
    answer = first_answer(situation(txn(level=5, max_age=0),
                                    sso("p-1", 3, auth_time=NOW - 10), someone(3)))  # fmt: skip
    assert isinstance(answer, Ask) and answer.check == "max_age"


def test_a_sign_in_for_the_level_comes_before_an_agreement(db: Session) -> None:
    who = person(db, loa=3)
    accepted(db, who, "2020-01")
    answer = first_answer(situation(txn(level=3), sso(who.id, 2), who, db))
    assert isinstance(answer, Ask) and answer.check == "level_below_requested"


def test_a_level_out_of_reach_is_refused_before_any_page(db: Session) -> None:
    """A loa:3 person asking loa:4 never gets the agreement, act-for or consent page."""
    who = person(db, loa=3)
    accepted(db, who, "2020-01")
    member(db, who, organization(db), "legal_representative")
    t = txn(level=4, scopes=["openid", "org"])
    answer = first_answer(situation(t, sso(who.id, 3), who, db))
    assert isinstance(answer, Refuse)
    assert answer.refusal is Refusal.unmet_authentication_requirements


def test_a_fresh_sign_in_satisfies_the_sign_in_checks_but_not_the_pages(
    db: Session, clock: Clock
) -> None:
    who = person(db, loa=3)
    accepted(db, who, "2020-01")
    member(db, who, organization(db), "admin")
    t = back_fresh(forced=True, max_age=0, level=3, scopes=["openid", "org"])
    now = sso(who.id, 3, session_id="s-1", auth_time=NOW - 5)
    answer = first_answer(situation(t, now, who, db))
    assert isinstance(answer, Ask) and answer.check == "agreement_pending"
    accepted(db, who, CURRENT_VERSION)
    answer = first_answer(situation(t, now, who, db))
    assert isinstance(answer, Ask) and answer.check == "act_for_needed"
    t.act_for_chosen = True
    answer = first_answer(situation(t, now, who, db))
    assert isinstance(answer, Ask) and answer.check == "consent_needed"
    consent(db, who, ["openid", "org"])
    assert first_answer(situation(t, now, who, db)) is None


def test_fresh_needs_a_session() -> None:
    assert not situation(back_fresh(), None, None).fresh
    assert situation(back_fresh(), sso("p-1", 3), someone(3)).fresh
    assert not situation(txn(), sso("p-1", 3), someone(3)).fresh


def test_the_situation_releases_what_the_transaction_may_have() -> None:
    t = txn(scopes=["openid", "idcard", "phone"], claims=["name", "id_number"])
    release = situation(t, None, None).release()
    assert release.scopes == ["openid", "phone"]
    assert release.by_name == {"name"}
