"""SM3 (GB/T 32905), the 国密 hash, from `cryptography`: one-shot digests for callers that
only need the bytes (at_hash of SM2SM3 tokens, the audit chain)."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

__all__ = ["sm3_digest"]


def sm3_digest(data: bytes) -> bytes:
    """The 32-byte SM3 digest of `data`."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()
