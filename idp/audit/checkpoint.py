"""Signed checkpoints of the audit chain: (seq, head hash, time) signed with SM2 by a key the
database does not hold, so that whoever can write the database cannot rewrite the chain
up to a checkpoint without it showing (as CloudTrail digests and CT tree heads do).

A checkpoint is one JSON object, written as one line:

    {"at":"2026-11-23T03:58:03.181332Z","head":"<64 hex>","key":"<16 hex>","seq":42,
     "sig":"<128 hex>","v":1}

`sig` is SM2 with SM3 (GM/T 0009 default signer ID) over `SIGNED_PREFIX` followed by the
canonical JSON (as in idp/audit/chain.py) of every other field. `key` names the signing key:
the first 16 hex characters of SM3(04 ‖ x ‖ y), so a verifier holding several public keys
(after a rotation) knows which one to try.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from idp.audit.chain import canonical_json, encode_timestamp, sm3_hex
from idp.crypto.sm2 import InvalidKeyError, PrivateKey, PublicKey

VERSION = 1
# Domain separation: a signature over a checkpoint can never be replayed as one over
# anything else this key might sign, nor the other way round.
SIGNED_PREFIX = b"idp-audit-checkpoint/1\n"
_HEX = frozenset("0123456789abcdef")


class CheckpointKeyError(ValueError):
    """A configured checkpoint key is not an SM2 key."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int  # the last row covered
    head: str  # that row's row_hash
    at: str  # when it was signed, ISO 8601 UTC
    key: str  # key id of the signer
    sig: str = ""

    def signed_bytes(self) -> bytes:
        body = {"v": VERSION, "seq": self.seq, "head": self.head, "at": self.at, "key": self.key}
        return SIGNED_PREFIX + canonical_json(body).encode("ascii")

    def as_json(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "seq": self.seq,
            "head": self.head,
            "at": self.at,
            "key": self.key,
            "sig": self.sig,
        }

    def as_line(self) -> str:
        return canonical_json(self.as_json())

    @classmethod
    def from_json(cls, data: Any) -> Checkpoint:
        """Parse one checkpoint object; ValueError says what is wrong with it."""
        if not isinstance(data, dict) or set(data) != {"v", "seq", "head", "at", "key", "sig"}:
            raise ValueError("not a checkpoint object")
        if data["v"] != VERSION:
            raise ValueError(f"unknown checkpoint version {data['v']!r}")
        seq, head, at, key, sig = (data[k] for k in ("seq", "head", "at", "key", "sig"))
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError("its seq is not a whole number")
        for name, value, size in (("head", head, 64), ("key", key, 16), ("sig", sig, 128)):
            if not _is_hex(value, size):
                raise ValueError(f"its {name} is not {size} lowercase hex characters")
        if not isinstance(at, str):
            raise ValueError("its time is not a string")
        return cls(seq, head, at, key, sig)


def key_id(public: PublicKey) -> str:
    return sm3_hex(b"\x04" + public.x.to_bytes(32, "big") + public.y.to_bytes(32, "big"))[:16]


def public_key_hex(public: PublicKey) -> str:
    return f"{public.x:064x}{public.y:064x}"


def parse_private_key(text: str) -> PrivateKey:
    try:
        return PrivateKey(int(text, 16))
    except (ValueError, InvalidKeyError):
        raise CheckpointKeyError("not an SM2 private key (a scalar in [1, n-2])") from None


def parse_public_keys(text: str) -> list[PublicKey]:
    """Comma-separated public keys, each x ‖ y as 128 hex characters (an 04 prefix allowed)."""
    keys = []
    for item in filter(None, (part.strip().lower() for part in text.split(","))):
        if len(item) == 130 and item.startswith("04"):
            item = item[2:]
        if not _is_hex(item, 128):
            raise CheckpointKeyError(f"{item[:20]}…: not 128 hex characters (x ‖ y)")
        try:
            keys.append(PublicKey(int(item[:64], 16), int(item[64:], 16)))
        except InvalidKeyError:
            raise CheckpointKeyError(f"{item[:20]}…: not a point on the SM2 curve") from None
    return keys


class CheckpointSigner:
    """Signs checkpoints with the one private key this process holds."""

    def __init__(self, private: PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    def sign(self, seq: int, head: str, at: datetime) -> Checkpoint:
        unsigned = Checkpoint(seq, head, encode_timestamp(at), self.key_id)
        signature = self._private.sign(unsigned.signed_bytes())
        return Checkpoint(seq, head, unsigned.at, self.key_id, signature.hex())


class CheckpointKeys:
    """The public keys a verifier trusts, by key id. Needs no private key."""

    def __init__(self, keys: Iterable[PublicKey]) -> None:
        self.by_id: Mapping[str, PublicKey] = {key_id(k): k for k in keys}

    def problem(self, checkpoint: Checkpoint) -> str | None:
        """None when the checkpoint is signed by a trusted key, else why it is not."""
        public = self.by_id.get(checkpoint.key)
        if public is None:
            return f"signed by an unknown key {checkpoint.key}"
        if not public.verify(checkpoint.signed_bytes(), bytes.fromhex(checkpoint.sig)):
            return "its signature does not verify"
        return None


def _is_hex(value: Any, size: int) -> bool:
    return isinstance(value, str) and len(value) == size and set(value) <= _HEX
