"""Sealing personal numbers (SM4-GCM bound to their place) and blind indexes (HMAC-SM3)."""

from __future__ import annotations

import os

import pytest

from idp.crypto.pii import PiiSealer, SealError, mask_id_number, mask_phone

SEALER = PiiSealer(os.urandom(16), os.urandom(32))


def test_sealed_value_opens_only_in_its_place():
    sealed = SEALER.seal("17000000101", "persons|phone|p1")
    assert b"17000000101" not in sealed
    assert SEALER.open(sealed, "persons|phone|p1") == "17000000101"
    with pytest.raises(SealError):
        SEALER.open(sealed, "persons|phone|p2")  # copied to another row


def test_tampered_or_foreign_ciphertext_does_not_open():
    sealed = bytearray(SEALER.seal("17000000101", "persons|phone|p1"))
    sealed[20] ^= 1
    with pytest.raises(SealError):
        SEALER.open(bytes(sealed), "persons|phone|p1")
    other = PiiSealer(os.urandom(16), os.urandom(32))
    with pytest.raises(SealError):
        other.open(SEALER.seal("x", "t|c|r"), "t|c|r")


def test_sealing_is_randomised_but_the_index_is_stable():
    assert SEALER.seal("17000000101", "a") != SEALER.seal("17000000101", "a")
    assert SEALER.blind_index("phone", "17000000101") == SEALER.blind_index("phone", "17000000101")
    assert SEALER.blind_index("phone", "17000000101") != SEALER.blind_index("id", "17000000101")


def test_index_matches_hmac_sm3_reference():
    from cryptography.hazmat.primitives import hashes, hmac

    key = bytes(range(32))
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(b"phone\x0017000000101")
    assert PiiSealer(bytes(16), key).blind_index("phone", "17000000101") == mac.finalize().hex()


def test_masks():
    assert mask_phone("17000000101") == "170****0101"
    assert mask_id_number("11010119900307002X") == "1101**********002X"
    assert mask_id_number("1234") == "****"


# -- what mutation testing found untested (`make mutation`) ------------------------------
# Every value below is synthetic: 170 numbers are a virtual-operator range and the
# identity numbers are runs of 9s with no real check digit.


def test_round_trip_of_every_kind_of_text_and_the_plain_text_is_never_in_the_sealed_form():
    for value in ["17000000101", "11010119900101999X", "张三", "a", "x" * 1000]:
        sealed = SEALER.seal(value, "persons|id_number|p1")
        assert SEALER.open(sealed, "persons|id_number|p1") == value
        # one or two bytes turn up in any 30 random bytes now and then (a flaky "a");
        # from four on, chance alone is below one in 2**27
        if len(value.encode()) >= 4:
            assert value.encode() not in sealed
        assert len(sealed) == 1 + 12 + len(value.encode()) + 16  # version, nonce, body, tag


def test_the_place_is_bound_column_and_table_as_well_as_row():
    sealed = SEALER.seal("17000000101", "persons|phone|p1")
    for elsewhere in ["persons|email|p1", "legacy_accounts|phone|p1", "persons|phone|p1 ", ""]:
        with pytest.raises(SealError):
            SEALER.open(sealed, elsewhere)
    assert SEALER.open(sealed, "persons|phone|p1") == "17000000101"


def test_a_sealed_value_that_is_not_text_is_a_seal_error_not_a_decode_error():
    from idp.crypto.sealing import seal

    key = bytes(range(16))
    sealed = seal(key, b"\xff\xfe not utf-8", "persons|phone|p1")
    with pytest.raises(SealError):
        PiiSealer(key, bytes(32)).open(sealed, "persons|phone|p1")


@pytest.mark.parametrize("length", [0, 8, 15, 17, 24, 32])
def test_only_a_16_byte_seal_key_is_taken(length):
    with pytest.raises(ValueError, match="16 bytes"):
        PiiSealer(bytes(length), bytes(32))


def test_the_blind_index_is_keyed_by_the_index_key_alone():
    index_key = os.urandom(32)
    one, two = PiiSealer(os.urandom(16), index_key), PiiSealer(os.urandom(16), index_key)
    assert one.blind_index("phone", "17000000101") == two.blind_index("phone", "17000000101")
    other = PiiSealer(os.urandom(16), os.urandom(32))
    assert other.blind_index("phone", "17000000101") != one.blind_index("phone", "17000000101")


def test_the_blind_index_differs_by_purpose_value_and_where_purpose_ends():
    indexes = {
        SEALER.blind_index("phone", "17000000101"),
        SEALER.blind_index("id_number", "17000000101"),
        SEALER.blind_index("phone", "17000000102"),
        SEALER.blind_index("phone1", "7000000101"),  # the separator keeps these apart
        SEALER.blind_index("phone", ""),
    }
    assert len(indexes) == 5
    index = SEALER.blind_index("phone", "17000000101")
    assert len(bytes.fromhex(index)) == 32  # SM3, as hex
    assert "17000000101" not in index


def test_same_compares_exactly():
    assert SEALER.same("a1b2", "a1b2")
    assert not SEALER.same("a1b2", "a1b3")
    assert not SEALER.same("a1b2", "a1b2 ")
    assert PiiSealer.same("", "")


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("17000000101", "170****0101"),
        ("+8617000000101", "+86*******0101"),  # any length: first three and last four
        ("17000001", "170*0001"),  # 8 characters: one star
        ("1700001", "*******"),  # 7 or fewer: nothing shown, else all 7 would be
        ("170", "***"),
        ("", ""),
    ],
)
def test_phone_masks_exactly(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("11010119900101999X", "1101**********999X"),
        ("999999999", "9999*9999"),  # 9 characters: one star
        ("99999999", "********"),  # 8 or fewer: nothing shown, else all 8 would be
        ("9999999", "*******"),
        ("", ""),
    ],
)
def test_id_number_masks_exactly(number, masked):
    assert mask_id_number(number) == masked
