"""The signing algorithms and their keys: making a key, sealing it for the database and
opening it again.

Each algorithm is pinned to one key type: an RSA key verifies RS256 and nothing else,
whatever a token's header says. A stored key opens only if its private half opens under
the key-encryption key, names the same kid and algorithm, and the kid is its RFC 7638
thumbprint; so a row planted by someone without the key-encryption key is never used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc.errors import UnsupportedAlgorithmError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import ECKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from idp.crypto.sealing import open_sealed, seal
from idp.keys.gm_jose import SM2Key

__all__ = ["SUPPORTED_ALGS", "KeyMaterial", "NewKey", "PinnedRegistry", "generate", "open_key"]

AsymmetricKey = RSAKey | ECKey | OKPKey  # SM2Key is an ECKey


@dataclass(frozen=True)
class _Algorithm:
    key_type: type[RSAKey] | type[ECKey] | type[OKPKey]
    generate: Callable[[], AsymmetricKey]


_ALGORITHMS: dict[str, _Algorithm] = {
    "RS256": _Algorithm(RSAKey, lambda: RSAKey.generate_key(2048)),
    "ES256": _Algorithm(ECKey, lambda: ECKey.generate_key("P-256")),
    "EdDSA": _Algorithm(OKPKey, lambda: OKPKey.generate_key("Ed25519")),
    "SM2SM3": _Algorithm(SM2Key, lambda: SM2Key.generate_key("SM2")),  # 国密, gm_jose.py
}
SUPPORTED_ALGS = tuple(_ALGORITHMS)


class PinnedRegistry(JWSRegistry):
    """A JWS registry that knows exactly one algorithm: the one pinned to a key."""

    def __init__(self, alg: str) -> None:
        super().__init__(algorithms=[alg])
        self.pinned = alg

    def get_alg(self, name: str) -> JWSAlgModel:
        if name != self.pinned:
            raise UnsupportedAlgorithmError(f"this key signs only with {self.pinned}")
        # No SecurityWarning for "EdDSA": RFC 9864 prefers "Ed25519", but RPs know EdDSA.
        return self.algorithms[name]


@dataclass(frozen=True)
class KeyMaterial:
    """A key opened and parsed once: the private half signs, the public half verifies."""

    kid: str
    alg: str
    private: AsymmetricKey
    public: AsymmetricKey
    public_jwk: dict[str, Any]
    registry: PinnedRegistry


@dataclass(frozen=True)
class NewKey:
    """A freshly made key, ready to be stored."""

    kid: str
    alg: str
    private_sealed: bytes
    public_jwk: dict[str, Any]


def private_place(kid: str) -> str:
    return f"signing_keys|private|{kid}"


def generate(alg: str, kek: bytes) -> NewKey:
    """A new key for `alg` (RSA 2048, P-256, Ed25519, SM2), its private JWK sealed under
    `kek`."""
    if alg not in _ALGORITHMS:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    key = _ALGORITHMS[alg].generate()
    kid = key.thumbprint()  # RFC 7638, SHA-256, base64url
    params = {"kid": kid, "alg": alg, "use": "sig"}
    private_jwk = {**key.as_dict(private=True), **params}
    sealed = seal(kek, json.dumps(private_jwk).encode(), private_place(kid))
    return NewKey(kid, alg, sealed, {**key.as_dict(private=False), **params})


def open_key(
    kek: bytes, kid: str, alg: str, private_sealed: bytes, public_jwk: dict[str, Any]
) -> KeyMaterial:
    """Open a stored key; raises SealError, ValueError or a JoseError if it is not ours."""
    if alg not in _ALGORITHMS:
        raise ValueError(f"algorithm {alg!r} is unknown to this release")
    private_jwk = json.loads(open_sealed(kek, private_sealed, private_place(kid)))
    if private_jwk.get("kid") != kid or private_jwk.get("alg") != alg:
        raise ValueError("the sealed key belongs to another kid or algorithm")
    key_type = _ALGORITHMS[alg].key_type
    private = key_type.import_key(private_jwk)
    if private.thumbprint() != kid:
        raise ValueError("the kid is not the key's thumbprint")
    derived = private.as_dict(private=False)
    if derived != public_jwk:
        raise ValueError("the stored public key is not the sealed key's")
    return KeyMaterial(
        kid, alg, private, key_type.import_key(derived), derived, PinnedRegistry(alg)
    )
