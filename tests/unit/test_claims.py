"""What `idp/oidc/claims.py` releases, and what it refuses: the claims parameter, the
claims each scope and each name release, and the values an RP reads. Absences are
asserted as hard as presences (the mutants that survived were all "too much released")."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest

from idp.accounts.models import Person
from idp.accounts.services import Accounts
from idp.crypto.passwords import PasswordHasher
from idp.crypto.pii import PiiSealer
from idp.oidc import claims as module
from idp.oidc.claims import (
    ClaimsRequestError,
    claims_by_name,
    consented_request,
    essential_acr,
    loa_number,
    org_claims,
    parse_claims_parameter,
    person_claims,
    released_claims,
    requested_names,
    scope_claims,
)

LOA = "urn:cn:gov:idp:loa:"
PHONE = "17000000123"  # a synthetic 170 number
EVERY_SCOPE = ["openid", "profile", "phone", "realname", "org", "idcard", "offline_access"]


@pytest.fixture
def accounts() -> Accounts:
    return Accounts(PasswordHasher(1, 8192, 1), PiiSealer(os.urandom(16), os.urandom(32)))


def make_person(accounts: Accounts, **fields: Any) -> Person:
    values: dict[str, Any] = {
        "id": "p-test-1",
        "username": "tester",
        "name": None,
        "loa": 2,
        "phone_verified": False,
        "updated_at": datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
    }
    values.update(fields)
    person = Person(**{k: v for k, v in values.items() if k != "phone"})
    if values.get("phone", PHONE):
        person.phone_sealed = accounts.sealer.seal(
            values.get("phone", PHONE), "persons|phone|p-test-1"
        )
    return person


# -- the claims parameter ------------------------------------------------------------------
def test_no_claims_parameter_is_no_request() -> None:
    assert parse_claims_parameter(None) == {}
    assert parse_claims_parameter("") == {}


def test_a_well_formed_claims_parameter_is_kept_as_sent() -> None:
    raw = {
        "userinfo": {"phone_number": None, "name": {"essential": True}},
        "id_token": {"acr": {"essential": True, "values": [LOA + "3"]}, "x": {"value": "v"}},
    }
    assert parse_claims_parameter(json.dumps(raw)) == raw


def test_a_missing_member_is_an_empty_one() -> None:
    assert parse_claims_parameter('{"userinfo": {"name": null}}') == {
        "userinfo": {"name": None},
        "id_token": {},
    }


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        "[" * 1500,  # RecursionError inside json.loads
        '{"userinfo":' * 1200 + "{}" + "}" * 1200,
        "[]",
        '"userinfo"',
        "3",
        '{"userinfo": []}',
        '{"userinfo": "name"}',
        '{"id_token": 3}',
        '{"userinfo": {"name": 3}}',
        '{"userinfo": {"name": "yes"}}',
        '{"userinfo": {"name": []}}',
        '{"id_token": {"acr": {"essential": "true"}}}',
        '{"id_token": {"acr": {"essential": 1}}}',
        '{"id_token": {"acr": {"values": 3}}}',
        '{"id_token": {"acr": {"values": "urn:cn:gov:idp:loa:3"}}}',
        '{"id_token": {"acr": {"values": [3]}}}',
        '{"id_token": {"acr": {"value": 3}}}',
        '{"id_token": {"acr": {"value": ["a"]}}}',
        json.dumps({"userinfo": {f"claim{i}": None for i in range(400)}}),  # over 4,096
    ],
)
def test_a_malformed_claims_parameter_is_refused(raw: str) -> None:
    with pytest.raises(ClaimsRequestError):
        parse_claims_parameter(raw)


def test_the_length_limit_is_4096_characters() -> None:
    body = '{"userinfo": {"name": null}, "pad": "'
    fits = body + "x" * (4096 - len(body) - 2) + '"}'
    assert len(fits) == 4096
    assert parse_claims_parameter(fits)["userinfo"] == {"name": None}
    with pytest.raises(ClaimsRequestError):
        parse_claims_parameter(fits[:-2] + 'x"}')


# -- essential acr ---------------------------------------------------------------------------
def test_essential_acr_values_are_what_the_rp_demands() -> None:
    wanted = {"id_token": {"acr": {"essential": True, "values": [LOA + "3", LOA + "4"]}}}
    assert essential_acr(wanted) == [LOA + "3", LOA + "4"]
    assert essential_acr({"id_token": {"acr": {"essential": True, "value": LOA + "4"}}}) == [
        LOA + "4"
    ]


def test_acr_that_is_not_essential_demands_nothing() -> None:
    assert essential_acr({"id_token": {"acr": {"values": [LOA + "3"]}}}) == []
    assert essential_acr({"id_token": {"acr": {"essential": False, "value": LOA + "3"}}}) == []
    assert essential_acr({"id_token": {"acr": None}}) == []
    assert essential_acr({"userinfo": {"acr": {"essential": True, "value": LOA + "3"}}}) == []
    assert essential_acr({}) == []
    assert essential_acr({"id_token": {"acr": {"essential": True}}}) == []


def test_loa_numbers() -> None:
    assert [loa_number(LOA + str(n)) for n in (2, 3, 4, 5)] == [2, 3, 4, 5]
    assert loa_number("urn:other:loa:3") == 0
    assert loa_number(LOA + "x") == 0
    assert loa_number("3") == 0


# -- which claims ----------------------------------------------------------------------------
def test_each_scope_releases_its_own_claims_and_no_others() -> None:
    assert scope_claims(["openid"]) == {"sub"}
    assert scope_claims(["profile"]) == {"name", "preferred_username", "updated_at"}
    assert scope_claims(["phone"]) == {"phone_number", "phone_number_verified"}
    assert scope_claims(["realname"]) == {"name", "real_name_verified", "loa"}
    assert scope_claims(["org"]) == {"org"}
    assert scope_claims(["idcard"]) == {"id_type", "id_number"}
    assert scope_claims(["offline_access"]) == set()
    assert scope_claims(["no-such-scope"]) == set()


def test_claims_by_name_only_within_the_clients_registered_scopes() -> None:
    asked = ["phone_number", "name", "id_number", "id_type", "acr", "nonsense"]
    assert claims_by_name(asked, ["openid"]) == set()
    assert claims_by_name(asked, ["openid", "phone"]) == {"phone_number"}
    assert claims_by_name(asked, ["openid", "profile", "phone"]) == {"phone_number", "name"}
    # the ID number never comes by name, even to a client registered for it
    assert claims_by_name(asked, EVERY_SCOPE) == {"phone_number", "name"}
    assert claims_by_name(None, EVERY_SCOPE) == set()


def test_released_claims_need_a_registered_scope_or_a_registered_name() -> None:
    assert released_claims("openid", None, ["openid"]) == {"sub"}
    assert released_claims("openid phone", None, ["openid"]) == {"sub"}  # not registered
    assert released_claims("openid phone", None, ["openid", "phone"]) == {
        "sub",
        "phone_number",
        "phone_number_verified",
    }
    asked = {"phone_number": None, "name": None, "id_number": None}
    assert released_claims("openid", asked, ["openid", "phone"]) == {"sub", "phone_number"}
    assert released_claims("openid", asked, ["openid"]) == {"sub"}
    assert released_claims("idcard", None, ["idcard"]) == {"id_type", "id_number"}


def test_requested_names_and_the_consented_cut() -> None:
    asked = {
        "userinfo": {"phone_number": None, "name": {"essential": True}},
        "id_token": {"phone_number": None, "acr": {"essential": True}},
    }
    assert requested_names(asked) == {"phone_number", "name", "acr"}
    assert requested_names({}) == set()
    assert consented_request(asked, {"phone_number"}) == {
        "userinfo": {"phone_number": None},
        "id_token": {"phone_number": None},
    }
    assert consented_request(asked, set()) == {"userinfo": {}, "id_token": {}}


# -- values ----------------------------------------------------------------------------------
def test_nothing_asked_nothing_given(accounts: Accounts) -> None:
    person = make_person(accounts, name="测试·乙", loa=4, phone_verified=True)
    assert person_claims(person, accounts, set()) == {}
    assert person_claims(person, accounts, {"sub", "acr"}) == {}


def test_each_claim_only_when_named(accounts: Accounts) -> None:
    person = make_person(accounts, name="测试·乙", loa=3, phone_verified=True)
    everything = scope_claims(EVERY_SCOPE) - {"id_type", "id_number", "org"}
    released = person_claims(person, accounts, everything)
    assert released == {
        "name": "测试·乙",
        "preferred_username": "tester",
        "updated_at": int(datetime(2026, 11, 30, 8, 0, tzinfo=UTC).timestamp()),
        "phone_number": "+86" + PHONE,
        "phone_number_verified": True,
        "real_name_verified": True,
        "loa": 3,
    }
    for claim in released:
        assert claim not in person_claims(person, accounts, everything - {claim}), claim


def test_values_that_are_absent_are_not_invented(accounts: Accounts) -> None:
    person = make_person(accounts, name=None, username=None, phone="")
    names = scope_claims(["profile", "phone"])
    assert person_claims(person, accounts, names) == {
        "updated_at": int(datetime(2026, 11, 30, 8, 0, tzinfo=UTC).timestamp())
    }


def test_an_unverified_phone_says_so(accounts: Accounts) -> None:
    person = make_person(accounts, phone_verified=False)
    assert person_claims(person, accounts, {"phone_number", "phone_number_verified"}) == {
        "phone_number": "+86" + PHONE,
        "phone_number_verified": False,
    }


@pytest.mark.parametrize(("loa", "verified"), [(2, False), (3, True), (4, True), (5, True)])
def test_real_name_verified_from_level_three(accounts: Accounts, loa: int, verified: bool) -> None:
    person = make_person(accounts, loa=loa)
    assert person_claims(person, accounts, {"real_name_verified", "loa"}) == {
        "real_name_verified": verified,
        "loa": loa,
    }


def test_the_id_number_comes_opened_with_its_type(accounts: Accounts) -> None:
    number = "11010519491231002X"  # a synthetic, check-digit-valid shape for the test only
    person = make_person(accounts, id_type="resident")
    person.id_number_sealed = accounts.sealer.seal(number, "persons|id_number|p-test-1")
    assert person_claims(person, accounts, {"id_type", "id_number"}) == {
        "id_type": "resident",
        "id_number": number,
    }
    assert person_claims(person, accounts, {"name"}) == {}
    unproven = make_person(accounts)
    assert person_claims(unproven, accounts, {"id_type", "id_number"}) == {}


def test_org_only_when_named_and_chosen(
    monkeypatch: pytest.MonkeyPatch, accounts: Accounts
) -> None:
    calls: list[str] = []

    def fake_org_claim(session: Any, person: Any, org_id: str) -> dict[str, str] | None:
        calls.append(org_id)
        return {"uscc": "91350100MA0000000X"} if org_id == "org-1" else None

    monkeypatch.setattr(module, "org_claim", fake_org_claim)
    person = make_person(accounts)
    assert org_claims(None, person, "org-1", {"org"}) == {"org": {"uscc": "91350100MA0000000X"}}
    assert org_claims(None, person, "org-1", {"name"}) == {}
    assert org_claims(None, person, None, {"org"}) == {}
    assert org_claims(None, person, "org-gone", {"org"}) == {}  # revoked since: nothing
    assert calls == ["org-1", "org-gone"]


def test_discovery_names_every_level_and_only_supported_claims() -> None:
    from idp.oidc.endpoints import discovery_document

    doc = discovery_document("https://idp.example.test")
    assert doc["acr_values_supported"] == [LOA + "2", LOA + "3", LOA + "4", LOA + "5"]
    assert doc["scopes_supported"] == EVERY_SCOPE
    assert doc["claims_parameter_supported"] is True
    assert "id_number" in doc["claims_supported"] and "password" not in doc["claims_supported"]


def test_a_claim_both_in_a_scope_and_asked_by_name_is_released_once() -> None:
    asked = {"phone_number": None, "name": None}
    assert released_claims("openid phone", asked, ["openid", "phone", "profile"]) == {
        "sub",
        "phone_number",
        "phone_number_verified",
        "name",
    }


def test_the_phone_is_not_even_opened_when_no_phone_claim_is_released(accounts: Accounts) -> None:
    """A sealed phone that cannot be opened (a rotated key, a damaged row) breaks only the
    tokens that carry the phone."""
    person = make_person(accounts, name="测试·丙")
    person.phone_sealed = b"\x00" * 40
    assert person_claims(person, accounts, {"name", "preferred_username"}) == {
        "name": "测试·丙",
        "preferred_username": "tester",
    }


def test_claims_supported_lists_every_person_and_token_claim() -> None:
    from idp.oidc.claims import CLAIMS_SUPPORTED

    person = ["sub", "name", "preferred_username", "updated_at", "phone_number"]
    person += ["phone_number_verified", "real_name_verified", "loa", "org", "id_type", "id_number"]
    token = ["iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp"]
    assert sorted(person + token) == CLAIMS_SUPPORTED
