"""The audit chain's encoding and hash: frozen, unambiguous, and sensitive to every field.

SM3 is checked against gmssl's pure-Python implementation, an independent one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from gmssl import sm3

from idp.audit.chain import (
    CHAINED_FIELDS,
    GENESIS_HASH,
    canonical_content,
    normalise_detail,
    row_hash,
    sm3_hex,
)

ROW: dict[str, Any] = {
    "seq": 7,
    "id": 12,
    "occurred_at": datetime(2026, 11, 23, 3, 58, 3, 181332, tzinfo=UTC),
    "event": "person:login:succeeded",
    "person_id": "5f0c1d2e-0000-4000-8000-000000000001",
    "actor": "person:5f0c1d2e-0000-4000-8000-000000000001",
    "ip": "10.0.0.7",
    "channel": "web",
    "user_agent": "Mozilla/5.0",
    "session_id": "s-1",
    "detail": {"amr": ["pwd"], "acr": "urn:cn:gov:idp:loa:2", "name": "演示"},
}
PREV = "ab" * 32


def gmssl_sm3(data: bytes) -> str:
    return str(sm3.sm3_hash(list(data)))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # GB/T 32905-2016 appendix A, examples 1 and 2
        (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
        (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
    ],
)
def test_sm3_matches_the_standard_vectors(data: bytes, expected: str) -> None:
    assert sm3_hex(data) == expected == gmssl_sm3(data)


@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 1000])
def test_sm3_agrees_with_gmssl_across_block_boundaries(size: int) -> None:
    data = bytes(range(256)) * 4
    assert sm3_hex(data[:size]) == gmssl_sm3(data[:size])


def test_the_encoding_is_the_documented_one() -> None:
    """Version 1 is frozen: stored hashes depend on these exact bytes."""
    expected = (
        '[7,12,"2026-11-23T03:58:03.181332Z","person:login:succeeded",'
        '"5f0c1d2e-0000-4000-8000-000000000001","person:5f0c1d2e-0000-4000-8000-000000000001",'
        '"10.0.0.7","web","Mozilla/5.0","s-1",'
        '{"acr":"urn:cn:gov:idp:loa:2","amr":["pwd"],"name":"\\u6f14\\u793a"}]'
    ).encode("ascii")
    assert canonical_content(ROW) == expected
    assert row_hash(PREV, ROW) == gmssl_sm3(PREV.encode("ascii") + expected)


def test_absent_values_are_null_not_empty() -> None:
    empty = {**ROW, "ip": "", "person_id": None}
    absent = {**ROW, "ip": None, "person_id": ""}
    assert row_hash(PREV, empty) != row_hash(PREV, absent)
    assert b'"person:login:succeeded","",' in canonical_content(absent)  # person_id
    assert b',null,"web",' in canonical_content(absent)  # ip


@pytest.mark.parametrize("field", CHAINED_FIELDS)
def test_changing_any_field_changes_the_hash(field: str) -> None:
    changed = {
        "seq": 8,
        "id": 13,
        "occurred_at": ROW["occurred_at"] + timedelta(microseconds=1),
        "event": "person:login:failed",
        "person_id": None,
        "actor": "anonymous",
        "ip": "10.0.0.8",
        "channel": "app",
        "user_agent": "Mozilla/5.1",
        "session_id": None,
        "detail": {**ROW["detail"], "acr": "urn:cn:gov:idp:loa:3"},
    }
    assert row_hash(PREV, {**ROW, field: changed[field]}) != row_hash(PREV, ROW)


def test_the_previous_hash_is_part_of_the_hash() -> None:
    assert row_hash(GENESIS_HASH, ROW) != row_hash(PREV, ROW)
    assert GENESIS_HASH == "0" * 64


def test_field_boundaries_cannot_be_shifted() -> None:
    one = {**ROW, "event": "person:login", "actor": ":failed"}
    other = {**ROW, "event": "person:login:", "actor": "failed"}
    quoted = {**ROW, "event": 'a","b', "actor": "c"}
    split = {**ROW, "event": "a", "actor": 'b","c'}
    assert len({row_hash(PREV, row) for row in (one, other, quoted, split)}) == 4


def test_detail_is_hashed_whatever_its_key_order_or_nesting() -> None:
    forward = {**ROW, "detail": {"a": 1, "b": {"x": [1, 2], "y": None}}}
    backward = {**ROW, "detail": {"b": {"y": None, "x": [1, 2]}, "a": 1}}
    assert row_hash(PREV, forward) == row_hash(PREV, backward)
    assert row_hash(PREV, forward) != row_hash(PREV, {**ROW, "detail": {"a": 1}})


def test_the_same_instant_in_any_zone_hashes_alike_and_naive_times_are_refused() -> None:
    beijing = ROW["occurred_at"].astimezone(timezone(timedelta(hours=8)))
    assert row_hash(PREV, {**ROW, "occurred_at": beijing}) == row_hash(PREV, ROW)
    with pytest.raises(ValueError, match="timezone"):
        row_hash(PREV, {**ROW, "occurred_at": ROW["occurred_at"].replace(tzinfo=None)})


def test_detail_is_normalised_to_what_the_database_gives_back() -> None:
    detail: dict[Any, Any] = {"amr": ("pwd", "otp"), 3: "x"}
    assert normalise_detail(detail) == {"amr": ["pwd", "otp"], "3": "x"}
    assert normalise_detail(None) == {}
