"""SM4-GCM sealing of secrets at rest, each bound to the place where it is stored.

The place (`table|column|row id`) is the associated data, so a sealed value copied to
another row or column does not open. Layout: version byte, 12-byte nonce, ciphertext,
16-byte tag.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_NONCE = 12
_TAG = 16
_VERSION = b"\x01"


class SealError(Exception):
    """The sealed value is damaged, or was moved from where it was sealed."""


def seal(key: bytes, plaintext: bytes, place: str) -> bytes:
    _check_key(key)
    nonce = os.urandom(_NONCE)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(place.encode())
    body = enc.update(plaintext) + enc.finalize()
    return _VERSION + nonce + body + enc.tag


def open_sealed(key: bytes, sealed: bytes, place: str) -> bytes:
    _check_key(key)
    if len(sealed) < 1 + _NONCE + _TAG or sealed[:1] != _VERSION:
        raise SealError("not a sealed value")
    nonce, body, tag = sealed[1 : 1 + _NONCE], sealed[1 + _NONCE : -_TAG], sealed[-_TAG:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(place.encode())
    try:
        return dec.update(body) + dec.finalize()
    except Exception as exc:  # InvalidTag: wrong key, wrong place or tampered bytes
        raise SealError("sealed value does not open here") from exc


def _check_key(key: bytes) -> None:
    if len(key) != 16:
        raise ValueError("SM4 keys are 16 bytes")
