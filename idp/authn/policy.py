"""Who must sign in, at what level, with what consent: decided here, once, for every
protocol and channel.

The checks run in the order of `CHECKS`; the first that asks something wins:

    no_session              nobody is signed in                          -> sign in
    forced_sign_in          a fresh sign-in was asked for                -> sign in
    max_age                 the last sign-in is older than allowed       -> sign in
    level_below_requested   a password sign-in would reach the level     -> sign in
    step_up_reachable       a face check would reach it                  -> step up
    level_out_of_reach      nothing the person can do reaches it         -> refused
    agreement_pending       a newer registration agreement               -> accept it
    act_for_needed          the org scope, and organisations to act for  -> choose
    consent_needed          not first-party, and no consent covers it    -> consent
                            (an approval on the app, which showed who asks and what it
                            reads, is the person's consent)

A passive transaction (prompt=none, IsPassive) is refused where a page would be shown.
A sign-in this transaction asked for satisfies the first four (a person just back from
the sign-in page is not sent there again).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from idp.accounts.models import Person
from idp.accounts.sessions import SsoSession
from idp.authn.methods import FACE, PASSWORD, reachable
from idp.authn.release import Release, loa_number, needs_consent, release_for
from idp.authn.transaction import Transaction
from realname import agreements
from realname.agents import memberships_for


class Step(StrEnum):
    """What the person is asked to do next."""

    sign_in = "sign_in"
    step_up = "step_up"
    accept_agreement = "accept_agreement"
    choose_act_for = "choose_act_for"
    consent = "consent"


class Refusal(StrEnum):
    """Why a transaction ends without a person (OpenID Connect's names; every protocol
    maps them to its own: SAML's NoPassive, CAS's gateway answer)."""

    login_required = "login_required"
    interaction_required = "interaction_required"
    consent_required = "consent_required"
    access_denied = "access_denied"
    unmet_authentication_requirements = "unmet_authentication_requirements"


@dataclass(frozen=True)
class Ask:
    check: str
    step: Step
    if_passive: Refusal  # the answer when no page may be shown
    reason: str


@dataclass(frozen=True)
class Refuse:
    check: str
    refusal: Refusal
    reason: str


@dataclass(frozen=True)
class Situation:
    txn: Transaction
    sso: SsoSession | None
    person: Person | None  # the session's person, if active
    db: Session

    @property
    def fresh(self) -> bool:
        sso = self.sso
        return sso is not None and self.txn.signed_in_afresh(sso.id, sso.auth_time)

    def release(self) -> Release:
        return release_for(self.txn.requester, self.txn.scopes, self.txn.claims)


Answer = Ask | Refuse | None


@dataclass(frozen=True)
class Check:
    name: str
    test: Callable[[Situation], Answer]


def _sign_in(name: str, reason: str) -> Ask:
    return Ask(name, Step.sign_in, Refusal.login_required, reason)


def no_session(s: Situation) -> Answer:
    return _sign_in("no_session", "nobody is signed in") if s.person is None else None


def forced_sign_in(s: Situation) -> Answer:
    if s.txn.forced and not s.fresh:
        return _sign_in("forced_sign_in", "a fresh sign-in was asked for")
    return None


def max_age(s: Situation) -> Answer:
    assert s.sso is not None
    if s.txn.max_age is not None and not s.fresh and time.time() - s.sso.auth_time > s.txn.max_age:
        return _sign_in("max_age", "the last sign-in is older than max_age")
    return None


def _below(s: Situation) -> bool:
    assert s.sso is not None
    return s.txn.level > loa_number(s.sso.acr)


def level_below_requested(s: Situation) -> Answer:
    assert s.person is not None
    if _below(s) and reachable(s.person, PASSWORD) >= s.txn.level and not s.fresh:
        return _sign_in("level_below_requested", "signing in again reaches the level asked")
    return None


def step_up_reachable(s: Situation) -> Answer:
    assert s.person is not None
    if _below(s) and reachable(s.person, FACE) >= s.txn.level:
        return Ask(
            "step_up_reachable",
            Step.step_up,
            Refusal.login_required,
            "a face check reaches the level asked",
        )
    return None


def level_out_of_reach(s: Situation) -> Answer:
    if not _below(s):
        return None
    if s.txn.passive:  # as for any other sign-in a passive request cannot have
        return Refuse("level_out_of_reach", Refusal.login_required, "sign-in needed")
    return Refuse(
        "level_out_of_reach",
        Refusal.unmet_authentication_requirements,
        "the requested assurance level cannot be reached",
    )


def agreement_pending(s: Situation) -> Answer:
    assert s.person is not None
    if agreements.pending_for(s.db, s.person.id):
        return Ask(
            "agreement_pending",
            Step.accept_agreement,
            Refusal.interaction_required,
            "a newer registration agreement must be accepted",
        )
    return None


def act_for_needed(s: Situation) -> Answer:
    assert s.person is not None
    if s.txn.act_for_chosen or "org" not in s.release().scopes:
        return None
    if not memberships_for(s.db, s.person):
        return None
    return Ask(
        "act_for_needed",
        Step.choose_act_for,
        Refusal.interaction_required,
        "choose whom you act for",
    )


def consent_needed(s: Situation) -> Answer:
    assert s.person is not None
    if s.txn.consent_given:
        return None
    release = s.release()
    if needs_consent(s.db, s.person.id, s.txn.requester, release, forced=s.txn.consent_forced):
        return Ask(
            "consent_needed", Step.consent, Refusal.consent_required, "the person has not consented"
        )
    return None


CHECKS: tuple[Check, ...] = (
    Check("no_session", no_session),
    Check("forced_sign_in", forced_sign_in),
    Check("max_age", max_age),
    Check("level_below_requested", level_below_requested),
    Check("step_up_reachable", step_up_reachable),
    Check("level_out_of_reach", level_out_of_reach),
    Check("agreement_pending", agreement_pending),
    Check("act_for_needed", act_for_needed),
    Check("consent_needed", consent_needed),
)


def first_answer(situation: Situation) -> Answer:
    """The first check that asks something, in the order above; None: nothing to ask."""
    for check in CHECKS:
        answer = check.test(situation)
        if answer is not None:
            return answer
    return None
