"""Authentication methods (idp/authn/methods.py): what each proves, the level it can give at
most, and how sessions are opened and raised from its evidence. A method never gives more
than its cap or than the person's own level; a step-up never lowers a session and never
takes another person's evidence."""

from __future__ import annotations

import dataclasses
import os

import pytest

from idp.accounts.models import Credential, Person
from idp.accounts.services import Accounts
from idp.authn import methods
from idp.authn.methods import (
    APP_KEY,
    FACE,
    ID_CARD,
    METHODS,
    PASSWORD,
    PHONE_CALL,
    SMS_CODE,
    Evidence,
    Method,
    evidence,
    open_session,
    raise_session,
    reachable,
)
from idp.crypto.passwords import PasswordHasher
from idp.crypto.pii import PiiSealer
from tests.unit.authn_support import LOA, FakeSessions, someone, sso

SECRET = "Synthetic-pass-2026!"  # a test password, never a real one
LEVELS = (2, 3, 4, 5)


@pytest.fixture
def accounts() -> Accounts:
    return Accounts(PasswordHasher(1, 8192, 1), PiiSealer(os.urandom(16), os.urandom(32)))


def with_password(accounts: Accounts, person: Person) -> Person:
    person.credentials.append(Credential(type="password", secret=accounts.hasher.hash(SECRET)))
    return person


# -- the methods ---------------------------------------------------------------------------
def test_each_method_declares_its_rfc8176_amr_and_cap() -> None:
    assert Method("password", "pwd", 3) == PASSWORD
    assert Method("sms_code", "sms", 3) == SMS_CODE
    assert Method("face", "face", 4) == FACE
    assert Method("app_key", "swk", 3) == APP_KEY
    assert Method("id_card", "sc", 3) == ID_CARD
    assert Method("phone_call", "tel", 3) == PHONE_CALL
    assert METHODS == {
        "password": PASSWORD,
        "sms_code": SMS_CODE,
        "face": FACE,
        "app_key": APP_KEY,
        "id_card": ID_CARD,
        "phone_call": PHONE_CALL,
    }


@pytest.mark.parametrize("loa", LEVELS)
@pytest.mark.parametrize(
    ("methods", "amr", "cap"),
    [
        ((APP_KEY, FACE), ["swk", "face"], 4),
        ((ID_CARD, FACE), ["sc", "face"], 4),
        ((SMS_CODE, PHONE_CALL), ["sms", "tel"], 3),
        ((APP_KEY,), ["swk"], 3),
    ],
)
def test_methods_used_together_reach_the_strongest_cap(
    loa: int, methods: tuple[Method, ...], amr: list[str], cap: int
) -> None:
    proof = evidence(someone(loa), *methods)
    assert proof.amr == amr
    assert proof.level == min(loa, cap)


@pytest.mark.parametrize("loa", LEVELS)
@pytest.mark.parametrize("method", [PASSWORD, SMS_CODE, FACE], ids=lambda m: m.name)
def test_the_level_is_the_persons_capped_by_the_method(loa: int, method: Method) -> None:
    proof = evidence(someone(loa), method)
    assert proof == Evidence("p-1", method, min(loa, method.cap))
    assert reachable(someone(loa), method) == proof.level
    assert proof.acr == f"{LOA}{proof.level}"


@pytest.mark.parametrize("loa", LEVELS)
def test_a_password_never_gives_more_than_real_name(loa: int) -> None:
    assert evidence(someone(loa), PASSWORD).level <= 3
    assert evidence(someone(loa), SMS_CODE).level <= 3


def test_a_face_check_gives_real_person_but_never_a_counter_level() -> None:
    assert evidence(someone(4), FACE).level == 4
    assert evidence(someone(5), FACE).level == 4
    assert evidence(someone(5), FACE).acr == f"{LOA}4"


def test_no_method_gives_more_than_the_persons_own_level() -> None:
    for method in METHODS.values():
        assert evidence(someone(2), method).level == 2
        assert reachable(someone(2), method) == 2


# -- the password method -------------------------------------------------------------------
def test_the_right_password_is_evidence(accounts: Accounts) -> None:
    person = with_password(accounts, someone(4))
    assert methods.password(accounts, person, SECRET) == Evidence("p-1", PASSWORD, 3)


@pytest.mark.parametrize("given", ["", "synthetic-pass-2026!", SECRET + " ", SECRET[:-1]])
def test_a_wrong_password_is_no_evidence(accounts: Accounts, given: str) -> None:
    assert methods.password(accounts, with_password(accounts, someone(3)), given) is None


def test_nobody_and_a_person_without_a_password_give_no_evidence(accounts: Accounts) -> None:
    assert methods.password(accounts, None, SECRET) is None
    assert methods.password(accounts, someone(3), SECRET) is None


def test_a_disabled_person_gives_no_evidence_even_with_the_right_password(
    accounts: Accounts,
) -> None:
    person = with_password(accounts, someone(3, status="disabled"))
    assert methods.password(accounts, person, SECRET) is None


# -- opening a session ---------------------------------------------------------------------
def test_a_session_opens_with_the_methods_amr_and_the_capped_level() -> None:
    sessions = FakeSessions()
    token, made = open_session(
        sessions.as_store(),
        evidence(someone(4), PASSWORD),
        channel="kiosk",
        ip="192.0.2.7",
        user_agent="Synthetic/1.0",
    )
    assert sessions.created == [
        {
            "person_id": "p-1",
            "channel": "kiosk",
            "amr": ["pwd"],
            "acr": f"{LOA}3",
            "ip": "192.0.2.7",
            "user_agent": "Synthetic/1.0",
            "device": None,
        }
    ]
    assert (token, made.id, made.acr) == ("cookie-token", "s-new", f"{LOA}3")


def test_where_and_how_a_session_is_opened_are_named_never_positional() -> None:
    """channel, ip and user_agent are all strings: by position they would be mixed up."""
    with pytest.raises(TypeError):
        open_session(FakeSessions().as_store(), evidence(someone(3), PASSWORD), "web", None, None)  # type: ignore[misc]


def test_methods_and_evidence_cannot_be_changed_once_made() -> None:
    proof = evidence(someone(3), PASSWORD)
    with pytest.raises(dataclasses.FrozenInstanceError):
        PASSWORD.cap = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        proof.level = 5  # type: ignore[misc]
    assert (PASSWORD.cap, proof.level) == (3, 3)


def test_a_session_opened_by_face_records_face_at_the_persons_level() -> None:
    sessions = FakeSessions()
    open_session(
        sessions.as_store(), evidence(someone(4), FACE), channel="app", ip=None, user_agent=None
    )
    (created,) = sessions.created
    assert (created["amr"], created["acr"], created["ip"]) == (["face"], f"{LOA}4", None)


# -- raising a session ---------------------------------------------------------------------
def test_a_step_up_adds_the_method_and_raises_the_level() -> None:
    sessions = FakeSessions(add_answer=sso("p-1", 4))
    raised = raise_session(sessions.as_store(), sso("p-1", 3), evidence(someone(4), FACE))
    assert sessions.added == [("s-1", "face", f"{LOA}4")]
    assert raised is sessions.add_answer


@pytest.mark.parametrize("session_level", [4, 5])
def test_a_step_up_never_lowers_the_session(session_level: int) -> None:
    sessions = FakeSessions()
    raise_session(sessions.as_store(), sso("p-1", session_level), evidence(someone(3), FACE))
    assert sessions.added == [("s-1", "face", f"{LOA}{session_level}")]


def test_a_step_up_at_the_same_level_keeps_it() -> None:
    sessions = FakeSessions()
    raise_session(sessions.as_store(), sso("p-1", 3), evidence(someone(3), SMS_CODE))
    assert sessions.added == [("s-1", "sms", f"{LOA}3")]


def test_a_session_with_an_unreadable_level_is_raised_to_the_evidence() -> None:
    sessions = FakeSessions()
    odd = sso("p-1", 3)
    odd.acr = "urn:other:level:9"
    raise_session(sessions.as_store(), odd, evidence(someone(4), FACE))
    assert sessions.added == [("s-1", "face", f"{LOA}4")]


def test_a_session_that_ended_meanwhile_stays_ended() -> None:
    sessions = FakeSessions(add_answer=None)
    assert raise_session(sessions.as_store(), sso("p-1", 3), evidence(someone(4), FACE)) is None


@pytest.mark.parametrize("intruder_id", ["p-0", "p-2", "p-1 ", "P-1", ""])
def test_another_persons_evidence_never_raises_a_session(intruder_id: str) -> None:
    sessions = FakeSessions(add_answer=sso("p-1", 4))
    intruder = evidence(someone(4, person_id=intruder_id), FACE)
    with pytest.raises(ValueError, match="another person"):
        raise_session(sessions.as_store(), sso("p-1", 3), intruder)
    assert sessions.added == []


def test_the_same_person_is_the_same_id_not_the_same_object() -> None:
    """Ids come from the database and from Redis as different string objects."""
    sessions = FakeSessions()
    from_the_database = "".join(["p", "-1"])
    raise_session(
        sessions.as_store(), sso("p-1", 3), evidence(someone(4, person_id=from_the_database), FACE)
    )
    assert sessions.added == [("s-1", "face", f"{LOA}4")]


# -- what an approval's amr proves -----------------------------------------------------------
@pytest.mark.parametrize(
    ("amr", "level"),
    [(["swk"], 3), (["swk", "face"], 4), (["sms", "tel"], 3), (["sc", "face"], 4)],
)
def test_an_approvals_amr_is_evidence_of_those_methods(amr: list[str], level: int) -> None:
    proof = methods.evidence_for_amr(someone(4), amr)
    assert proof is not None and proof.amr == amr and proof.level == level
    low = methods.evidence_for_amr(someone(2), amr)
    assert low is not None and low.level == 2  # never above the person's own level


@pytest.mark.parametrize("amr", [[], ["swk", "hwk"], ["mfa"], ["otp"]])
def test_an_amr_naming_no_method_of_ours_is_no_evidence(amr: list[str]) -> None:
    assert methods.evidence_for_amr(someone(4), amr) is None
