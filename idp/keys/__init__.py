"""Signing and encryption keys, JWKS and rotation."""
