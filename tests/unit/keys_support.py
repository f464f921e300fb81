"""Helpers shared by the key ring tests: forged tokens, and verifying our tokens the way
an RP does, with `cryptography` (and gmssl for SM2) alone."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from examples.verify_sm2_id_token import verify_sm2sm3
from idp.keys import KeyRing

KEK = os.urandom(16)
TTL = 600
CLAIMS = {"iss": "https://idp.example.gov.cn", "sub": "p-1", "aud": "rp-1", "exp": 2000000000}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def header_of(token: str) -> dict[str, Any]:
    return json.loads(unb64url(token.split(".")[0]))


def forge(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token with any header; the signature is whatever the attacker could make."""
    head = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    return head + "." + b64url(signature)


def kid_of(ring: KeyRing, alg: str) -> str:
    return header_of(ring.sign({}, alg=alg))["kid"]


def published(ring: KeyRing) -> dict[str, dict[str, Any]]:
    return {key["kid"]: key for key in ring.jwks()["keys"]}


def rfc7638(jwk: dict[str, Any]) -> str:
    members = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
    required = {name: jwk[name] for name in members[jwk["kty"]]}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True).encode()
    return b64url(hashlib.sha256(canonical).digest())


def verify_with_cryptography(jwk: dict[str, Any], token: str) -> None:
    """What an RP does with our JWKS, written against `cryptography` alone."""
    head, payload, sig = token.split(".")
    message, signature = f"{head}.{payload}".encode(), unb64url(sig)
    number = lambda name: int.from_bytes(unb64url(jwk[name]), "big")  # noqa: E731
    if jwk["kty"] == "RSA":
        key = rsa.RSAPublicNumbers(number("e"), number("n")).public_key()
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    elif jwk["kty"] == "EC" and jwk["crv"] == "SM2":  # 国密: with gmssl, as an RP would
        assert verify_sm2sm3(jwk, message, signature), "SM2 signature does not verify"
    elif jwk["kty"] == "EC":
        point = ec.EllipticCurvePublicNumbers(number("x"), number("y"), ec.SECP256R1())
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        der = encode_dss_signature(r, s)
        point.public_key().verify(der, message, ec.ECDSA(hashes.SHA256()))
    else:
        Ed25519PublicKey.from_public_bytes(unb64url(jwk["x"])).verify(signature, message)
