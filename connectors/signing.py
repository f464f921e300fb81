"""HMAC-SM3 signatures on connector requests and on their answers.

A request carries `X-Timestamp` (Unix seconds), `X-Nonce` (random hex) and
`X-Signature: hmac-sm3 <hex>` over::

    METHOD \\n TARGET \\n TIMESTAMP \\n NONCE \\n BODY        (TARGET = path, plus ?query if any)

An answer carries `X-Timestamp` and `X-Signature` over::

    STATUS \\n NONCE-OF-THE-REQUEST \\n TIMESTAMP \\n BODY

Binding the answer to the request's nonce means an old answer ("match") cannot be
replayed to a new question. Either side refuses a timestamp more than `MAX_SKEW`
seconds from its own clock; the service also refuses a nonce it has already seen.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac

__all__ = [
    "MAX_SKEW",
    "MIN_KEY_BYTES",
    "NONCE_HEADER",
    "SCHEME",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "check_key",
    "fresh",
    "load_key",
    "new_nonce",
    "request_message",
    "response_message",
    "sign",
    "verify",
]

SCHEME = "hmac-sm3"
MAX_SKEW = 300
MIN_KEY_BYTES = 16
TIMESTAMP_HEADER = "X-Timestamp"
NONCE_HEADER = "X-Nonce"
SIGNATURE_HEADER = "X-Signature"


def request_message(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return f"{method.upper()}\n{target}\n{timestamp}\n{nonce}\n".encode() + body


def response_message(status: int, nonce: str, timestamp: str, body: bytes) -> bytes:
    return f"{status}\n{nonce}\n{timestamp}\n".encode() + body


def _mac(key: bytes, message: bytes) -> hmac.HMAC:
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(message)
    return mac


def sign(key: bytes, message: bytes) -> str:
    """The `X-Signature` header value for `message`."""
    return f"{SCHEME} {_mac(key, message).finalize().hex()}"


def verify(key: bytes, message: bytes, header: str | None) -> bool:
    """True when `header` is our scheme and its tag is right (compared in constant time)."""
    if not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme != SCHEME:
        return False
    try:
        tag = bytes.fromhex(value)
    except ValueError:
        return False
    try:
        _mac(key, message).verify(tag)
    except InvalidSignature:
        return False
    return True


def fresh(timestamp: str | None, now: float, max_skew: int = MAX_SKEW) -> bool:
    """True when `timestamp` is whole Unix seconds within `max_skew` of `now`, either way."""
    if not timestamp or len(timestamp) > 12 or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    return abs(int(timestamp) - now) <= max_skew


def new_nonce() -> str:
    return secrets.token_hex(16)


def check_key(key: bytes) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"a connector key must be at least {MIN_KEY_BYTES} bytes")
    return key


def load_key(path: str | Path) -> bytes:
    """Read a shared key written as hexadecimal text (as config writes generated secrets)."""
    text = Path(path).read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{path}: expected a key in hexadecimal") from None
    return check_key(key)
