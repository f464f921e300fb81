"""Three bugs found in idp/authn while writing its unit tests, now fixed; each test says
what must hold: a consumed transaction is never written back by a late save; a session
older than the sign-in the transaction asked for is not a fresh sign-in; whom one session
chose to act for is not taken by another session."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from idp.accounts.models import Person
from idp.authn import Asked, advance
from idp.authn.policy import Step
from idp.authn.transaction import State
from tests.unit.authn_support import (
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


def test_a_consumed_transaction_is_never_brought_back_by_a_late_save() -> None:
    txns, _ = transactions()
    t = txn()
    txns.save(t)
    late = txns.find(t.id)  # a second tab's request, loaded before the answer went back
    assert late is not None
    assert txns.consume(t.id) == t  # the protocol answered: the transaction is used up
    late.move(State.consenting)
    txns.save(late)
    assert txns.find(t.id) is None
    assert txns.consume(t.id) is None


@pytest.mark.parametrize("asked", [{"max_age": 60}, {"forced": True}])
def test_a_session_older_than_the_transaction_is_not_a_fresh_sign_in(
    db: Session, who: Person, asked: dict[str, Any]
) -> None:
    consent(db, who, ["openid"])
    txns, _ = transactions()
    t = txn(**asked)
    assert isinstance(advance(txns, t, None, db), Asked)  # nobody here: sent to sign in
    elsewhere = sso(who.id, 3, session_id="s-old", auth_time=int(time.time()) - 3600)
    outcome = advance(txns, t, elsewhere, db)
    assert isinstance(outcome, Asked) and outcome.step is Step.sign_in


def test_a_choice_made_in_one_session_is_not_taken_by_another(db: Session, who: Person) -> None:
    other = person(db, username="other")
    org = organization(db)
    member(db, who, org, "legal_representative")
    member(db, other, org, "admin")
    consent(db, other, ["openid", "org"])
    txns, _ = transactions()
    t = txn(scopes=["openid", "org"])
    assert isinstance(advance(txns, t, sso(who.id, 3, session_id="s-1"), db), Asked)
    t.act_for, t.act_for_chosen = org.id, True  # what idp/flows/act_for.py records for s-1
    outcome = advance(txns, t, sso(other.id, 3, session_id="s-2"), db)
    assert isinstance(outcome, Asked) and outcome.step is Step.choose_act_for
