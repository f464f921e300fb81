"""What a requester may read about a person (idp/authn/release.py), and when the person is
asked to agree. Absences are asserted as hard as presences: the ID number is never released
by name, nothing outside the requester's registered scopes is ever released, and a
remembered consent covers exactly what its page listed, never more."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy.orm import Session, sessionmaker

from idp.authn.release import (
    ACR_VALUES,
    LOA_PREFIX,
    RESTRICTED_CLAIMS,
    SCOPE_CLAIMS,
    Release,
    acr_for_level,
    claims_by_name,
    loa_number,
    needs_consent,
    release_for,
    remembered,
    scope_claims,
)
from idp.authn.transaction import Requester
from tests.unit.authn_support import CLIENT_ID, EVERY_SCOPE, RP, client, consent, person

ID_NUMBER = ("id_type", "id_number")
EVERYTHING = Requester(CLIENT_ID, "Registered for all", scopes=EVERY_SCOPE)


@pytest.fixture
def db(factory: sessionmaker[Session]):
    with factory() as session:
        yield session


# -- levels --------------------------------------------------------------------------------
def test_the_levels_offered_are_two_to_five() -> None:
    assert LOA_PREFIX == "urn:cn:gov:idp:loa:"
    assert [f"urn:cn:gov:idp:loa:{n}" for n in (2, 3, 4, 5)] == ACR_VALUES
    assert [acr_for_level(n) for n in (2, 3, 4, 5)] == ACR_VALUES


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4, 5, 12])
def test_a_level_reads_back_from_its_acr(level: int) -> None:
    assert loa_number(acr_for_level(level)) == level


@pytest.mark.parametrize(
    "acr",
    [
        "",
        "4",
        "loa:4",
        "urn:cn:gov:idp:loa:",
        "urn:cn:gov:idp:loa:four",
        "urn:cn:gov:idp:loa:4.0",
        "urn:other:idp:loa:4",
        "URN:CN:GOV:IDP:LOA:4",
        " urn:cn:gov:idp:loa:4",
        "http://example.test/urn:cn:gov:idp:loa:4",
    ],
)
def test_anything_else_is_level_zero(acr: str) -> None:
    assert loa_number(acr) == 0


# -- scopes and claims ---------------------------------------------------------------------
def test_what_each_scope_releases() -> None:
    assert SCOPE_CLAIMS == {
        "openid": ("sub",),
        "profile": ("name", "preferred_username", "updated_at"),
        "phone": ("phone_number", "phone_number_verified"),
        "realname": ("name", "real_name_verified", "loa"),
        "org": ("org",),
        "idcard": ID_NUMBER,
        "offline_access": (),
    }
    assert set(RESTRICTED_CLAIMS) == set(ID_NUMBER)


def test_scope_claims_is_the_union_of_the_scopes_and_ignores_unknown_ones() -> None:
    assert scope_claims([]) == set()
    assert scope_claims(["openid", "phone"]) == {"sub", "phone_number", "phone_number_verified"}
    assert scope_claims(["profile", "realname"]) == {
        "name", "preferred_username", "updated_at", "real_name_verified", "loa",
    }  # fmt: skip
    assert scope_claims(["email", "address", "offline_access"]) == set()


def test_a_claim_by_name_needs_a_registered_scope_that_covers_it() -> None:
    assert claims_by_name(["phone_number", "name"], ["openid", "phone"]) == {"phone_number"}
    assert claims_by_name(["phone_number"], ["openid", "profile"]) == set()
    assert claims_by_name(["email", "sub"], ["openid"]) == {"sub"}
    assert claims_by_name(None, EVERY_SCOPE) == set()
    assert claims_by_name([], EVERY_SCOPE) == set()


def test_the_id_number_is_never_released_by_name_even_to_an_idcard_client() -> None:
    assert claims_by_name(ID_NUMBER, EVERY_SCOPE) == set()
    assert claims_by_name([*ID_NUMBER, "loa"], ["idcard", "realname"]) == {"loa"}


# -- the release ---------------------------------------------------------------------------
def test_only_scopes_both_asked_and_registered_are_released_in_the_order_asked() -> None:
    release = release_for(RP, ["phone", "email", "idcard", "openid", "profile"], [])
    assert release == Release(
        ["phone", "openid", "profile"],
        frozenset(),
        frozenset({"phone_number", "phone_number_verified", "sub", "name",
                   "preferred_username", "updated_at"}),
    )  # fmt: skip


def test_a_release_cannot_be_widened_once_decided() -> None:
    release = release_for(RP, ["openid"], [])
    with pytest.raises(dataclasses.FrozenInstanceError):
        release.claims = frozenset({"id_number"})  # type: ignore[misc]
    assert release.claims == {"sub"}


def test_nothing_registered_releases_nothing() -> None:
    nobody = Requester("rp-x", "Nothing registered")
    release = release_for(nobody, EVERY_SCOPE, ["name", "phone_number", "id_number"])
    assert release == Release([], frozenset(), frozenset())


def test_the_idcard_scope_releases_the_id_number_only_when_registered_and_asked() -> None:
    assert set(ID_NUMBER) <= release_for(EVERYTHING, ["openid", "idcard"], []).claims
    assert not set(ID_NUMBER) & release_for(EVERYTHING, ["openid"], list(ID_NUMBER)).claims
    assert not set(ID_NUMBER) & release_for(RP, ["openid", "idcard"], list(ID_NUMBER)).claims


def test_claims_by_name_come_from_registered_scopes_not_asked() -> None:
    release = release_for(RP, ["openid"], ["phone_number", "loa", "email"])
    assert release.scopes == ["openid"]
    assert release.by_name == {"phone_number", "loa"}
    assert release.claims == {"sub", "phone_number", "loa"}


def test_a_claim_the_scopes_release_already_is_not_counted_by_name() -> None:
    release = release_for(RP, ["openid", "phone"], ["phone_number", "name"])
    assert release.by_name == {"name"}
    assert release.claims == {"sub", "phone_number", "phone_number_verified", "name"}


def test_no_claim_is_released_outside_the_registered_scopes() -> None:
    every_claim = [c for claims in SCOPE_CLAIMS.values() for c in claims]
    for registered in (("openid",), ("openid", "phone"), ("profile",), ("org",)):
        requester = Requester("rp-y", "Y", scopes=registered)
        release = release_for(requester, EVERY_SCOPE, every_claim)
        assert set(release.scopes) <= set(registered)
        assert release.claims <= scope_claims(registered) - RESTRICTED_CLAIMS


# -- consent -------------------------------------------------------------------------------
def test_nothing_remembered_means_asking(db: Session) -> None:
    who = person(db)
    client(db)
    assert remembered(db, who.id, CLIENT_ID) is None
    assert needs_consent(db, who.id, RP, release_for(RP, ["openid"], []), forced=False)


def test_a_consent_covering_the_scopes_is_not_asked_again(db: Session) -> None:
    who = person(db)
    consent(db, who, ["openid", "profile", "phone"])
    for asked in (["openid"], ["openid", "profile"], ["phone", "openid", "profile"]):
        assert not needs_consent(db, who.id, RP, release_for(RP, asked, []), forced=False)


def test_one_scope_more_than_remembered_is_asked_again(db: Session) -> None:
    who = person(db)
    consent(db, who, ["openid", "profile"])
    release = release_for(RP, ["openid", "profile", "phone"], [])
    assert needs_consent(db, who.id, RP, release, forced=False)


def test_a_claim_by_name_more_than_remembered_is_asked_again(db: Session) -> None:
    who = person(db)
    consent(db, who, ["openid"], ["name"])
    assert not needs_consent(db, who.id, RP, release_for(RP, ["openid"], ["name"]), forced=False)
    release = release_for(RP, ["openid"], ["name", "phone_number"])
    assert needs_consent(db, who.id, RP, release, forced=False)


def test_a_claim_by_name_that_a_remembered_scope_released_is_covered(db: Session) -> None:
    who = person(db)
    consent(db, who, ["openid", "phone"])
    release = release_for(RP, ["openid"], ["phone_number"])
    assert release.by_name == {"phone_number"}
    assert not needs_consent(db, who.id, RP, release, forced=False)


@pytest.mark.parametrize(("owner_id", "other_id"), [("p-2", "p-1"), ("p-2", "p-3")])
def test_another_persons_consent_covers_nothing(db: Session, owner_id: str, other_id: str) -> None:
    owner = person(db, username="owner", person_id=owner_id)
    other = person(db, username="other", person_id=other_id)
    consent(db, owner, list(EVERY_SCOPE))
    assert needs_consent(db, other.id, RP, release_for(RP, ["openid"], []), forced=False)


@pytest.mark.parametrize("other_id", ["rp-a", "rp-other", "rp-authn-test-2"])
def test_a_consent_to_another_client_covers_nothing(db: Session, other_id: str) -> None:
    who = person(db)
    consent(db, who, list(EVERY_SCOPE))
    elsewhere = Requester(other_id, "Another RP", scopes=RP.scopes)
    client(db, client_id=other_id)
    assert remembered(db, who.id, other_id) is None
    assert needs_consent(db, who.id, elsewhere, release_for(RP, ["openid"], []), forced=False)


def test_a_claim_allowed_by_name_and_later_by_its_scope_stays_covered(db: Session) -> None:
    who = person(db)
    consent(db, who, ["openid", "phone"], ["phone_number"])  # by name first, then the scope
    release = release_for(RP, ["openid"], ["phone_number"])
    assert not needs_consent(db, who.id, RP, release, forced=False)


def test_a_consent_covering_exactly_the_claims_asked_by_name_is_enough(db: Session) -> None:
    who = person(db)
    consent(db, who, ["offline_access"], ["name", "loa"])
    release = release_for(EVERYTHING, ["offline_access"], ["name", "loa"])
    assert release.by_name == release.claims == {"name", "loa"}
    assert not needs_consent(db, who.id, EVERYTHING, release, forced=False)


def test_forced_is_named_never_positional(db: Session) -> None:
    """A bare True among the arguments would read as anything but "ask again"."""
    with pytest.raises(TypeError):
        needs_consent(db, "p-1", RP, release_for(RP, ["openid"], []), True)  # type: ignore[misc]


def test_forced_consent_is_asked_whatever_is_remembered(db: Session) -> None:
    who = person(db)
    consent(db, who, list(EVERY_SCOPE))
    release = release_for(RP, ["openid"], [])
    assert not needs_consent(db, who.id, RP, release, forced=False)
    assert needs_consent(db, who.id, RP, release, forced=True)
    first_party = Requester(CLIENT_ID, "First party", first_party=True, scopes=RP.scopes)
    assert needs_consent(db, who.id, first_party, release, forced=True)


def test_a_first_party_service_is_not_asked_for_consent(db: Session) -> None:
    who = person(db)
    first_party = Requester(CLIENT_ID, "Account centre", first_party=True, scopes=EVERY_SCOPE)
    release = release_for(first_party, list(EVERY_SCOPE), ["name"])
    assert not needs_consent(db, who.id, first_party, release, forced=False)


def test_remembered_finds_the_persons_consent_to_that_client(db: Session) -> None:
    who = person(db)
    made = consent(db, who, ["openid", "phone"], ["name"])
    found = remembered(db, who.id, CLIENT_ID)
    assert found is not None and found.id == made.id
    assert (found.scopes, found.claims) == (["openid", "phone"], ["name"])
