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
