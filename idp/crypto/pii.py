"""Personal information at rest: SM4-GCM sealing, HMAC-SM3 blind indexes, masking.

A sealed value binds its place (`table|column|row id`) as associated data, so a ciphertext
copied to another row or column does not open. The blind index uses a separate key and
lets us look a value up by equality without decrypting anything.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from idp.crypto.sealing import SealError, open_sealed, seal

__all__ = ["PiiSealer", "SealError", "mask_id_number", "mask_phone"]


class PiiSealer:
    def __init__(self, seal_key: bytes, index_key: bytes) -> None:
        if len(seal_key) != 16:
            raise ValueError("SM4 keys are 16 bytes")
        self._seal_key = seal_key
        self._index_key = index_key

    def seal(self, value: str, place: str) -> bytes:
        return seal(self._seal_key, value.encode(), place)

    def open(self, sealed: bytes, place: str) -> str:
        plaintext = open_sealed(self._seal_key, sealed, place)
        try:
            return plaintext.decode()
        except UnicodeDecodeError as exc:
            raise SealError("sealed value does not open here") from exc

    def blind_index(self, kind: str, value: str) -> str:
        mac = crypto_hmac.HMAC(self._index_key, hashes.SM3())
        mac.update(kind.encode() + b"\x00" + value.encode())
        return mac.finalize().hex()

    @staticmethod
    def same(a: str, b: str) -> bool:
        return hmac.compare_digest(a.encode(), b.encode())


def mask_phone(phone: str) -> str:
    """`13800001234` -> `138****1234`."""
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def mask_id_number(number: str) -> str:
    """`110101199003071234` -> `1101**********1234` (keeps region prefix and last four)."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]
