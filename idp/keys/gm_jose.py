"""JOSE for commercial cryptography: the JWS algorithms `SM2SM3` (SM2 over SM3, raw r‖s)
and `HSM3` (HMAC-SM3), and SM2 keys as JWK `{"kty": "EC", "crv": "SM2", "x", "y"}`.

No JOSE registry entry exists for SM2, so joserfc learns both algorithms here, once, on
import. Neither is "recommended": a registry uses them only when it names them. joserfc's
`ECKey` wraps `cryptography` keys, which have no SM2 curve, so `SM2Key` is an `ECKey`
(joserfc's checks see `kty` EC) whose raw value is an `idp.crypto.sm2` key. The algorithm
is pinned both ways: `SM2SM3` takes nothing but an `SM2Key`, and `ES256` refuses one
because its curve is not P-256. Signatures use the default signer ID 1234567812345678.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any, Self, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from joserfc._rfc7517.models import NativeKeyBinding
from joserfc.errors import (
    InvalidExchangeKeyError,
    InvalidKeyCurveError,
    InvalidKeyLengthError,
    InvalidKeyTypeError,
    KeyParameterError,
)
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import ECKey, KeySet, OctKey
from joserfc.jws import JWSRegistry
from joserfc.util import urlsafe_b64decode, urlsafe_b64encode

from idp.crypto import sm2

__all__ = [
    "CURVE",
    "HSM3",
    "SM2SM3",
    "HSM3Algorithm",
    "SM2Key",
    "SM2SM3Algorithm",
    "import_sm2_key",
    "register",
    "registry",
]

#: The JWK "crv" of an SM2 key.
CURVE = "SM2"
_SIZE = sm2.SM2_CURVE.size

SM2RawKey = sm2.PrivateKey | sm2.PublicKey


def _encode(value: int) -> str:
    return urlsafe_b64encode(value.to_bytes(_SIZE, "big")).decode("ascii")


def _decode(value: Any, name: str) -> int:
    # RFC 7518 6.2.1: coordinates (and d) are the full field size, no more, no less.
    try:
        raw = urlsafe_b64decode(value.encode("ascii"))
    except (AttributeError, ValueError, UnicodeEncodeError) as exc:
        raise KeyParameterError(f"'{name}' is not base64url") from exc
    if len(raw) != _SIZE:
        raise KeyParameterError(f"'{name}' of an SM2 key is {_SIZE} bytes")
    return int.from_bytes(raw, "big")


class SM2Binding(NativeKeyBinding):
    """Turns an SM2 JWK into an `idp.crypto.sm2` key and back; nothing else is accepted."""

    @classmethod
    def convert_raw_key_to_dict(cls, raw_key: SM2RawKey, private: bool) -> Any:
        public = raw_key.public_key() if isinstance(raw_key, sm2.PrivateKey) else raw_key
        data = {"crv": CURVE, "x": _encode(public.x), "y": _encode(public.y)}
        if private and isinstance(raw_key, sm2.PrivateKey):
            data["d"] = _encode(raw_key.d)
        return data

    @classmethod
    def import_from_dict(cls, value: Any) -> SM2RawKey:
        if value.get("kty", "EC") != "EC":
            raise InvalidKeyTypeError("an SM2 key has kty 'EC'")
        if value.get("crv") != CURVE:
            raise InvalidKeyCurveError(f"an SM2 key has crv '{CURVE}'")
        try:
            public = sm2.PublicKey(_decode(value["x"], "x"), _decode(value["y"], "y"))
            if "d" not in value:
                return public
            private = sm2.PrivateKey(_decode(value["d"], "d"))
        except sm2.InvalidKeyError as exc:
            raise KeyParameterError(str(exc)) from exc
        if private.public_key() != public:
            raise KeyParameterError("'x' and 'y' are not the public point of 'd'")
        return private

    @classmethod
    def import_from_bytes(cls, value: bytes, password: str | bytes | None = None) -> Any:
        raise InvalidKeyTypeError("SM2 keys are imported from a JWK (a dict) only")

    @staticmethod
    def as_bytes(
        key: Any, encoding: Any = None, private: bool = False, password: Any = None
    ) -> bytes:
        raise InvalidKeyTypeError("SM2 keys are exported as a JWK only")


class SM2Key(ECKey):
    """An EC JWK on curve SM2. `raw_value` is an `sm2.PrivateKey` or `sm2.PublicKey`."""

    # joserfc types ECKey's raw value as a `cryptography` key; here it is an SM2 key, hence
    # the ignores on the three members that name that type.
    binding = SM2Binding  # type: ignore[assignment]

    @classmethod
    def _wrap(cls, raw: SM2RawKey, original: Any, parameters: Any) -> Self:
        return cls(cast(Any, raw), original, parameters)

    @property
    def sm2_key(self) -> SM2RawKey:
        return cast(SM2RawKey, self._raw_value)

    @property
    def is_private(self) -> bool:
        return isinstance(self.sm2_key, sm2.PrivateKey)

    @cached_property
    def public_key(self) -> sm2.PublicKey:  # type: ignore[override]
        raw = self.sm2_key
        return raw.public_key() if isinstance(raw, sm2.PrivateKey) else raw

    @property
    def private_key(self) -> sm2.PrivateKey | None:  # type: ignore[override]
        raw = self.sm2_key
        return raw if isinstance(raw, sm2.PrivateKey) else None

    @property
    def curve_name(self) -> str:
        return CURVE

    @property
    def curve_key_size(self) -> int:
        return sm2.SM2_CURVE.p.bit_length()

    def exchange_derive_key(self, key: Any) -> bytes:
        raise InvalidExchangeKeyError("SM2 keys sign; SM2 key exchange is not ECDH-ES")

    @classmethod
    def import_key(
        cls,
        value: Any,
        parameters: Any = None,
        password: str | bytes | None = None,
    ) -> Self:
        if isinstance(value, (sm2.PrivateKey, sm2.PublicKey)):
            if value.curve != sm2.SM2_CURVE:
                raise InvalidKeyCurveError(f"only curve '{CURVE}' has a JWK")
            return cls._wrap(value, value, parameters)
        if not isinstance(value, dict):
            raise InvalidKeyTypeError("SM2 keys are imported from a JWK (a dict) only")
        cls.validate_dict_key(value)
        return cls._wrap(SM2Binding.import_from_dict(value), value, parameters)

    @classmethod
    def generate_key(
        cls,
        crv: str | None = CURVE,
        parameters: Any = None,
        private: bool = True,
        auto_kid: bool = False,
    ) -> Self:
        if crv not in (None, CURVE):
            raise InvalidKeyCurveError(f"an SM2 key has crv '{CURVE}'")
        secret = sm2.PrivateKey.generate()
        raw: SM2RawKey = secret if private else secret.public_key()
        key = cls._wrap(raw, raw, parameters)
        if auto_kid:
            key.ensure_kid()
        return key

    @classmethod
    def derive_key(cls, *args: Any, **kwargs: Any) -> Self:
        raise NotImplementedError("SM2 keys are generated, not derived from a secret")


def import_sm2_key(jwk: dict[str, Any]) -> SM2Key:
    """An SM2 key from its JWK; private when it carries "d"."""
    return SM2Key.import_key(jwk)


class SM2SM3Algorithm(JWSAlgModel):
    """SM2 signature over SM3 with the default signer ID; signature is raw 64-byte r‖s."""

    name = "SM2SM3"
    description = "SM2 signature with SM3 (GB/T 32918.2, signer ID 1234567812345678)"
    recommended = False
    key_type = "EC"
    algorithm_security = 128

    def __init__(self, backend: sm2.Backend | None = None) -> None:
        #: None: `sm2.default_backend()`, looked up at each call.
        self.backend = backend

    def check_key(self, key: Any) -> None:
        super().check_key(key)
        if not isinstance(key, SM2Key) or key.curve_name != CURVE:
            raise InvalidKeyCurveError(f"'{self.name}' takes only '{CURVE}' keys")

    def sign(self, msg: bytes, key: Any) -> bytes:
        self.check_key(key)
        private: sm2.PrivateKey = key.get_op_key("sign")
        return private.sign(msg, backend=self.backend)

    def verify(self, msg: bytes, sig: bytes, key: Any) -> bool:
        self.check_key(key)
        public: sm2.PublicKey = key.get_op_key("verify")
        return public.verify(msg, sig, backend=self.backend)


class HSM3Algorithm(JWSAlgModel):
    """HMAC with SM3 over an `oct` key of at least 32 bytes."""

    name = "HSM3"
    description = "HMAC using SM3"
    recommended = False
    key_type = "oct"
    algorithm_security = 128
    min_key_bytes = 32

    def check_key(self, key: Any) -> None:
        super().check_key(key)
        if not isinstance(key, OctKey) or len(key.raw_value) < self.min_key_bytes:
            raise InvalidKeyLengthError(f"'{self.name}' needs a key of {self.min_key_bytes} bytes")

    def _mac(self, msg: bytes, key: bytes) -> crypto_hmac.HMAC:
        mac = crypto_hmac.HMAC(key, hashes.SM3())
        mac.update(msg)
        return mac

    def sign(self, msg: bytes, key: Any) -> bytes:
        self.check_key(key)
        return self._mac(msg, key.get_op_key("sign")).finalize()

    def verify(self, msg: bytes, sig: bytes, key: Any) -> bool:
        self.check_key(key)
        try:
            self._mac(msg, key.get_op_key("verify")).verify(sig)  # constant-time compare
        except InvalidSignature:
            return False
        return True


SM2SM3 = SM2SM3Algorithm()
HSM3 = HSM3Algorithm()


def register() -> None:
    """Teach joserfc `SM2SM3` and `HSM3`; a second call changes nothing."""
    for model in (SM2SM3, HSM3):
        existing = JWSRegistry.algorithms.get(model.name)
        if existing is None:
            JWSRegistry.register(model)
            KeySet.algorithm_keys[model.name] = [model.key_type]
        elif type(existing).__qualname__ != type(model).__qualname__:
            raise RuntimeError(f"another JWS algorithm is registered as {model.name!r}")


def registry(
    algorithms: Iterable[str] = (SM2SM3.name,), backend: sm2.Backend | None = None
) -> JWSRegistry:
    """A JWS registry allowing exactly `algorithms`; `backend` picks SM2's implementation."""
    allowed = list(algorithms)
    if not allowed:
        raise ValueError("a registry names at least one algorithm")
    chosen = JWSRegistry(algorithms=allowed)
    if backend is not None:
        chosen.algorithms = {**JWSRegistry.algorithms, SM2SM3.name: SM2SM3Algorithm(backend)}
    return chosen


register()
