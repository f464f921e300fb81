"""Signing keys: the key ring that signs and verifies JWS/JWT, publishes the JWKS and
rotates keys, sealed at rest under the key-encryption key."""

from __future__ import annotations

from flask import Flask

from config import Settings
from idp.keys.keyring import (
    DEFAULT_ALGS,
    SUPPORTED_ALGS,
    InvalidTokenError,
    KeyRing,
    NoActiveKeyError,
    Rotation,
)

__all__ = [
    "DEFAULT_ALGS",
    "SUPPORTED_ALGS",
    "InvalidTokenError",
    "KeyRing",
    "NoActiveKeyError",
    "Rotation",
    "init_app",
]


def init_app(app: Flask, settings: Settings) -> KeyRing:
    """Attach the app's key ring as `app.extensions["idp.keys"]`. Creates no keys: call
    `ensure_keys()` once the schema is current."""
    keyring = KeyRing(
        bytes.fromhex(settings.key_encryption_key),
        app.extensions["idp.db"].factory,
        max_token_ttl=max(settings.access_token_ttl, settings.id_token_ttl),
    )
    app.extensions["idp.keys"] = keyring
    return keyring
