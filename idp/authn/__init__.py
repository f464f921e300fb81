"""The authentication transaction every protocol and channel shares (see transaction.py),
its checks (policy.py), the methods that prove who a person is (methods.py) and what a
requester may read (release.py). `advance` moves a transaction on by one decision."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from idp.accounts.models import Person
from idp.accounts.sessions import SsoSession
from idp.authn.policy import Refusal, Situation, Step, first_answer
from idp.authn.policy import Refuse as _Refuse
from idp.authn.release import Release, release_for
from idp.authn.transaction import ASKING, State, Transaction, Transactions

__all__ = [
    "Asked",
    "Halted",
    "Ready",
    "Refused",
    "Transaction",
    "Transactions",
    "advance",
    "waiting",
]


@dataclass(frozen=True)
class Asked:
    """The person must do `step` before the transaction can go on."""

    txn: Transaction
    step: Step
    check: str


@dataclass(frozen=True)
class Refused:
    """The transaction ends without a person; the protocol says so in its own words."""

    txn: Transaction
    refusal: Refusal
    reason: str


@dataclass(frozen=True)
class Ready:
    """Nothing more to ask: the protocol answers for this person, releasing `release`."""

    txn: Transaction
    sso: SsoSession
    release: Release


@dataclass(frozen=True)
class Halted:
    """A step that cannot go on (an expired or foreign page, a forbidden choice): shown to
    the person, never sent to the requester, whose redirect it might not be."""

    error: str
    description: str


Outcome = Asked | Refused | Ready | Halted
# a transaction answered (or expired) while this request was deciding on it
GONE = Halted("expired", "this sign-in has already been completed or has expired")

# where each step leaves the transaction
_STATES = {
    Step.sign_in: State.signing_in,
    Step.step_up: State.stepping_up,
    Step.accept_agreement: State.accepting,
    Step.choose_act_for: State.choosing,
    Step.consent: State.consenting,
}


def waiting(
    txns: Transactions, txn_id: str, state: State, sso: SsoSession | None
) -> Transaction | Halted:
    """The transaction `txn_id` if it waits for the answer to `state` from this session's
    person; otherwise why the page that answers it is stale."""
    txn = txns.find(txn_id)
    if txn is None or txn.state != state or sso is None:
        return Halted("expired", "this page has expired; start again from the service")
    if txn.session_id != sso.id:
        return Halted("expired", "this page belongs to another sign-in; start again")
    return txn


def advance(txns: Transactions, txn: Transaction, sso: SsoSession | None, db: Session) -> Outcome:
    """Run the checks for `txn` with the browser's (or app's) session, record what the
    person is asked next, and say it."""
    if txn.state in ASKING:
        txn.move(State.received)
    if txn.session_id is not None and (sso is None or sso.id != txn.session_id):
        # answers given in another session (whom to act for) are not this one's
        txn.act_for, txn.act_for_chosen, txn.session_id = None, False, None
    person = db.get(Person, sso.person_id) if sso is not None else None
    if person is not None and not person.active:
        person = None
    answer = first_answer(Situation(txn, sso, person, db))
    if isinstance(answer, _Refuse):
        return Refused(txn, answer.refusal, answer.reason)
    if answer is not None:
        if txn.passive:
            return Refused(txn, answer.if_passive, answer.reason)
        if answer.step is Step.sign_in:
            txn.sign_in_asked, txn.stale_session = True, sso.id if sso else None
            txn.sign_in_asked_at = int(time.time())
        elif answer.step is Step.step_up:  # the same session goes on, at a higher level
            txn.sign_in_asked, txn.stale_session = True, None
        else:  # the person's answers belong to this session, and to no other
            assert sso is not None
            txn.session_id = sso.id
        txn.move(_STATES[answer.step])
        if not txns.save(txn):
            return GONE
        return Asked(txn, answer.step, answer.check)
    assert sso is not None
    txn.session_id = sso.id
    txn.move(State.ready)
    if not txns.save(txn):
        return GONE
    return Ready(txn, sso, release_for(txn.requester, txn.scopes, txn.claims))
