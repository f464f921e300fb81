"""SM2 signatures over SM3 (GB/T 32918.2), with the signer ID hashed into Z as GM/T 0009
says, behind one small interface with two backends.

`tongsuopy` (Tongsuo, native) signs several thousand times a second and is the default.
`gmssl` (pure Python, slow) is the fallback when tongsuopy cannot be imported, and an
independent implementation for tests; it is the only backend that takes another signer ID
or another curve. Signatures are raw 64-byte r‖s, as JWS wants them.

gmssl 3.2.2 has two traps this module steps around: its default nonce comes from `random`
(not cryptographic), so k is always drawn here from `secrets`; and its constructor
`lstrip`s "0" and "4" characters off a public key that starts with "04", so the public
key is set after construction. Its Z value also hard-codes the default ID, so Z and e are
computed here.
"""

from __future__ import annotations

import functools
import os
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from idp.crypto.sm3 import sm3_digest

__all__ = [
    "BACKEND_ENV",
    "DEFAULT_SIGNER_ID",
    "SM2_CURVE",
    "Backend",
    "Curve",
    "GmsslBackend",
    "InvalidKeyError",
    "PrivateKey",
    "PublicKey",
    "SM2Error",
    "TongsuoBackend",
    "UnsupportedError",
    "default_backend",
    "digest",
    "get_backend",
    "z_value",
]

#: GM/T 0009's default signer ID (user ID), the one other SM2 implementations assume.
DEFAULT_SIGNER_ID = b"1234567812345678"
#: Forces a backend ("tongsuopy" or "gmssl"); unset or empty picks tongsuopy when importable.
BACKEND_ENV = "IDP_SM2_BACKEND"

Point = tuple[int, int]


class SM2Error(ValueError):
    """Base of this module's errors."""


class InvalidKeyError(SM2Error):
    """A scalar out of range, or a point that is not on the curve."""


class UnsupportedError(SM2Error):
    """The backend cannot do what was asked (another signer ID, another curve)."""


@dataclass(frozen=True)
class Curve:
    """A short Weierstrass curve y² = x³ + ax + b over GF(p) with a base point of order n."""

    name: str
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int

    @property
    def size(self) -> int:
        """Bytes in one coordinate or scalar."""
        return (self.p.bit_length() + 7) // 8

    def contains(self, x: int, y: int) -> bool:
        p = self.p
        return 0 <= x < p and 0 <= y < p and (y * y - (x * x + self.a) * x - self.b) % p == 0


#: The recommended 256-bit curve of GB/T 32918.5 (the only one Tongsuo knows as "SM2").
SM2_CURVE = Curve(
    name="SM2",
    p=0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFF,
    a=0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFC,
    b=0x28E9FA9E_9D9F5E34_4D5A9E4B_CF6509A7_F39789F5_15AB8F92_DDBCBD41_4D940E93,
    gx=0x32C4AE2C_1F198119_5F990446_6A39C994_8FE30BBF_F2660BE1_715A4589_334C74C7,
    gy=0xBC3736A2_F4F6779C_59BDCEE3_6B692153_D0A9877C_C62A4740_02DF32E5_2139F0A0,
    n=0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_7203DF6B_21C6052B_53BBF409_39D54123,
)


def z_value(point: Point, signer_id: bytes = DEFAULT_SIGNER_ID, curve: Curve = SM2_CURVE) -> bytes:
    """Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA), ENTL being the ID's length in bits."""
    if len(signer_id) >= 8192:
        raise SM2Error("a signer ID is shorter than 8192 bytes (its bit length fills 16 bits)")
    size = curve.size
    numbers = (curve.a, curve.b, curve.gx, curve.gy, *point)
    return sm3_digest(
        (len(signer_id) * 8).to_bytes(2, "big")
        + signer_id
        + b"".join(v.to_bytes(size, "big") for v in numbers)
    )


def digest(
    point: Point, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID, curve: Curve = SM2_CURVE
) -> bytes:
    """e = SM3(Z ‖ M): what the SM2 equations sign."""
    return sm3_digest(z_value(point, signer_id, curve) + message)


class Backend(Protocol):
    """An SM2-with-SM3 implementation on one curve. `sign` raises `InvalidKeyError` for a
    scalar out of range; `verify` answers False for any signature, length or point that does
    not verify. Both raise `UnsupportedError` for a signer ID the backend cannot hash."""

    name: str
    curve: Curve

    def public_point(self, d: int) -> Point: ...

    def sign(self, d: int, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes: ...

    def verify(
        self, point: Point, message: bytes, signature: bytes, signer_id: bytes = DEFAULT_SIGNER_ID
    ) -> bool: ...


def _check_scalar(d: int, curve: Curve) -> None:
    # GB/T 32918.1: d in [1, n-2], since signing inverts 1 + d.
    if not isinstance(d, int) or not 1 <= d <= curve.n - 2:
        raise InvalidKeyError("an SM2 private key is an integer in [1, n-2]")


def _split(signature: bytes, curve: Curve) -> tuple[int, int] | None:
    """r and s from raw r‖s, or None unless both are in [1, n-1]."""
    size = curve.size
    if not isinstance(signature, bytes) or len(signature) != 2 * size:
        return None
    r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    if not (0 < r < curve.n and 0 < s < curve.n):
        return None
    return r, s


def _valid_point(point: Any, curve: Curve) -> bool:
    return (
        isinstance(point, tuple)
        and len(point) == 2
        and all(isinstance(v, int) for v in point)
        and curve.contains(*point)
    )


class TongsuoBackend:
    """Tongsuo through tongsuopy. It knows only the SM2 curve and, having no call to set the
    distinguishing ID, only the default signer ID (checked against gmssl in the tests)."""

    name = "tongsuopy"
    curve = SM2_CURVE

    def __init__(self) -> None:
        from tongsuopy.crypto import hashes as ts_hashes
        from tongsuopy.crypto.asymciphers import ec
        from tongsuopy.crypto.exceptions import InvalidSignature

        self._ec = ec
        self._invalid_signature = InvalidSignature
        self._algorithm = ec.ECDSA(ts_hashes.SM3())
        # Loading a key costs a scalar multiplication: as much as a signature.
        self._private = functools.lru_cache(maxsize=256)(self._load_private)
        self._public = functools.lru_cache(maxsize=1024)(self._load_public)

    def _load_private(self, d: int) -> Any:
        return self._ec.derive_private_key(d, self._ec.SM2())

    def _load_public(self, point: Point) -> Any:
        return self._ec.EllipticCurvePublicNumbers(*point, self._ec.SM2()).public_key()

    def _check_id(self, signer_id: bytes) -> None:
        if signer_id != DEFAULT_SIGNER_ID:
            raise UnsupportedError(
                "tongsuopy signs and verifies only with the default signer ID "
                "1234567812345678; use the gmssl backend for another"
            )

    def public_point(self, d: int) -> Point:
        _check_scalar(d, self.curve)
        numbers = self._private(d).public_key().public_numbers()
        return numbers.x, numbers.y

    def sign(self, d: int, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        self._check_id(signer_id)
        _check_scalar(d, self.curve)
        r, s = decode_dss_signature(self._private(d).sign(message, self._algorithm))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def verify(
        self, point: Point, message: bytes, signature: bytes, signer_id: bytes = DEFAULT_SIGNER_ID
    ) -> bool:
        self._check_id(signer_id)
        rs = _split(signature, self.curve)
        if rs is None or not _valid_point(point, self.curve):
            return False
        try:
            self._public(point).verify(encode_dss_signature(*rs), message, self._algorithm)
        except self._invalid_signature:
            return False
        return True


class GmsslBackend:
    """gmssl's pure-Python SM2 arithmetic on any curve (GB/T 32918's example curve too),
    with Z, e and the nonce k supplied here."""

    name = "gmssl"

    def __init__(self, curve: Curve = SM2_CURVE) -> None:
        from gmssl.sm2 import CryptSM2

        self._crypt_sm2 = CryptSM2
        self.curve = curve
        self._width = width = 2 * curve.size
        #: The curve as gmssl's `ecc_table` (upper-case hex, G as x‖y).
        self.ecc_table = {
            "n": f"{curve.n:0{width}X}",
            "p": f"{curve.p:0{width}X}",
            "g": f"{curve.gx:0{width}X}{curve.gy:0{width}X}",
            "a": f"{curve.a:0{width}X}",
            "b": f"{curve.b:0{width}X}",
        }
        self._public = functools.lru_cache(maxsize=256)(self._compute_point)

    def _crypt(self, d: int = 0, point: Point = (0, 0)) -> Any:
        crypt = self._crypt_sm2(private_key="", public_key="", ecc_table=self.ecc_table)
        # Set after construction: the constructor's lstrip("04") would eat leading 0s and 4s.
        crypt.private_key = f"{d:0{self._width}x}"
        crypt.public_key = f"{point[0]:0{self._width}x}{point[1]:0{self._width}x}"
        return crypt

    def _compute_point(self, d: int) -> Point:
        xy = self._crypt()._kg(d, self.ecc_table["g"])
        return int(xy[: self._width], 16), int(xy[self._width :], 16)

    def public_point(self, d: int) -> Point:
        _check_scalar(d, self.curve)
        return self._public(d)

    def sign(self, d: int, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        point = self.public_point(d)
        crypt = self._crypt(d, point)
        e = digest(point, message, signer_id, self.curve)
        while True:
            k = 1 + secrets.randbelow(self.curve.n - 1)  # never gmssl's own random k
            signature = crypt.sign(e, f"{k:0{self._width}x}")
            if signature is not None:  # None: r = 0, r + k = n or s = 0; draw another k
                return bytes.fromhex(signature)

    def verify(
        self, point: Point, message: bytes, signature: bytes, signer_id: bytes = DEFAULT_SIGNER_ID
    ) -> bool:
        # gmssl checks neither the ranges of r and s nor that the point is on the curve.
        rs = _split(signature, self.curve)
        if rs is None or not _valid_point(point, self.curve):
            return False
        e = digest(point, message, signer_id, self.curve)
        try:
            return bool(self._crypt(point=point).verify(signature.hex(), e))
        except TypeError:  # s·G + t·P at infinity: gmssl indexes None
            return False


_BACKENDS: dict[str, type[TongsuoBackend] | type[GmsslBackend]] = {
    TongsuoBackend.name: TongsuoBackend,
    GmsslBackend.name: GmsslBackend,
}


@functools.cache
def get_backend(name: str) -> Backend:
    """The named backend on the SM2 curve, made once."""
    if name not in _BACKENDS:
        raise SM2Error(f"unknown SM2 backend {name!r}: one of {', '.join(_BACKENDS)}")
    return _BACKENDS[name]()


@functools.cache
def default_backend() -> Backend:
    """`IDP_SM2_BACKEND` if set, else tongsuopy when it imports, else gmssl."""
    forced = os.environ.get(BACKEND_ENV, "")
    if forced:
        return get_backend(forced)
    try:
        return get_backend(TongsuoBackend.name)
    except ImportError:
        return get_backend(GmsslBackend.name)


def _pick(backend: Backend | None, curve: Curve) -> Backend:
    backend = backend or default_backend()
    if backend.curve != curve:
        raise UnsupportedError(f"the {backend.name} backend is not on curve {curve.name}")
    return backend


@dataclass(frozen=True)
class PublicKey:
    """A point on the curve; one that is not cannot be made."""

    x: int
    y: int
    curve: Curve = field(default=SM2_CURVE, repr=False)

    def __post_init__(self) -> None:
        if not _valid_point((self.x, self.y), self.curve):
            raise InvalidKeyError("the point is not on the curve")

    @property
    def point(self) -> Point:
        return self.x, self.y

    def verify(
        self,
        message: bytes,
        signature: bytes,
        signer_id: bytes = DEFAULT_SIGNER_ID,
        backend: Backend | None = None,
    ) -> bool:
        return _pick(backend, self.curve).verify(self.point, message, signature, signer_id)


@dataclass(frozen=True)
class PrivateKey:
    """A scalar d in [1, n-2]."""

    d: int = field(repr=False)
    curve: Curve = field(default=SM2_CURVE, repr=False)

    def __post_init__(self) -> None:
        _check_scalar(self.d, self.curve)

    @classmethod
    def generate(cls, curve: Curve = SM2_CURVE) -> PrivateKey:
        return cls(1 + secrets.randbelow(curve.n - 2), curve)

    def public_key(self, backend: Backend | None = None) -> PublicKey:
        """d·G; backends cache it, so asking again is cheap."""
        x, y = _pick(backend, self.curve).public_point(self.d)
        return PublicKey(x, y, self.curve)

    def sign(
        self, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID, backend: Backend | None = None
    ) -> bytes:
        return _pick(backend, self.curve).sign(self.d, message, signer_id)
