"""The key ring: signs and verifies JWS/JWT with the provider's keys and publishes the
JWKS; rotating keys in the database is `lifecycle.py`'s, the ring reloads after it.

Parsed keys stay in memory; the database is read again at most every `refresh_seconds`,
and at once (at most once a second) when a token names a kid we have not seen, so a key
rotated by another process is picked up quickly. A key is trusted only if its private
half opens under the key-encryption key and matches its kid: someone who can write to
the database but does not hold the key-encryption key cannot plant a key we would use
(see `algorithms.open_key`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from idp.crypto.sealing import SealError
from idp.errors import DatabaseUnavailableError
from idp.keys.algorithms import SUPPORTED_ALGS, KeyMaterial, open_key
from idp.keys.lifecycle import DEFAULT_ALGS, KeyLifecycle, Rotation
from idp.keys.models import PUBLISHED_STATES, KeyState, SigningKey

__all__ = [
    "DEFAULT_ALGS",
    "SUPPORTED_ALGS",
    "InvalidTokenError",
    "KeyRing",
    "NoActiveKeyError",
    "Rotation",
]

log = logging.getLogger(__name__)

UNKNOWN_KID_RELOAD_INTERVAL = 1.0  # seconds between database reads caused by unknown kids
_MAX_KID = 64  # the column's length: a longer kid cannot be ours
# How many tokens, as the exact compact strings whose signature verified, `verify`
# remembers (first in, first out). A resource server introspects the same access token
# on every call it serves, and the signature check costs more than the rest of the answer.
# Only tokens that verified get in, so forged ones cannot crowd them out; about 3 MiB.
VERIFIED_MEMORY = 4096


class InvalidTokenError(ValueError):
    """The token's signature does not verify with a key we publish; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoActiveKeyError(KeyError):
    """Nothing signs with this algorithm: no key of it is active."""

    def __init__(self, alg: str) -> None:
        super().__init__(alg)
        self.alg = alg

    def __str__(self) -> str:
        return f"no active signing key for {self.alg} (run `idp keys rotate --alg {self.alg}`)"


@dataclass(frozen=True)
class _Published:
    material: KeyMaterial
    state: str
    verify_until: float | None  # epoch seconds; set for retiring keys


@dataclass(frozen=True)
class _Snapshot:
    loaded_at: float  # time.monotonic()
    published: dict[str, _Published]
    active: dict[str, KeyMaterial]
    retired: frozenset[str]
    jwks: tuple[dict[str, Any], ...]
    jwks_json: bytes  # the JWKS document, serialised once per snapshot


class KeyRing:
    def __init__(
        self,
        kek: bytes,
        session_factory: Callable[[], Session],
        *,
        max_token_ttl: int,
        refresh_seconds: float = 5.0,
        verified_memory: int = VERIFIED_MEMORY,
    ) -> None:
        if len(kek) != 16:
            raise ValueError("the key-encryption key is an SM4 key of 16 bytes")
        self._kek = kek
        self._factory = session_factory
        self._max_token_ttl = max_token_ttl
        self._refresh = refresh_seconds
        self._lock = threading.Lock()  # guards the fields below and serialises reloads
        self._snapshot: _Snapshot | None = None
        self._materials: dict[str, KeyMaterial] = {}
        self._rejected: set[str] = set()
        self._last_forced = float("-inf")
        self._lifecycle = KeyLifecycle(kek, session_factory, max_token_ttl=max_token_ttl)
        self._verified: dict[str, None] = {}  # insertion-ordered; see VERIFIED_MEMORY
        self._verified_memory = verified_memory  # 0: verify every time (make bench)
        self._verified_lock = threading.Lock()  # for writers; `in` needs none

    # -- signing and verifying ----------------------------------------------------------
    def sign(self, claims: dict[str, Any], *, alg: str, typ: str | None = None) -> str:
        """A compact JWS of `claims` by the active key of `alg`, e.g. typ="at+jwt"."""
        material = self._fresh().active.get(alg)
        if material is None:
            raise NoActiveKeyError(alg)
        header: dict[str, Any] = {"alg": alg, "kid": material.kid}
        if typ is not None:
            header["typ"] = typ
        # joserfc rewrites datetime exp/iat/nbf in place; the caller's dict stays untouched.
        return jwt.encode(
            header, dict(claims), material.private, registry=material.registry, default_type=None
        )

    def verify(
        self, token: str, *, algs: Collection[str], typ: str | None = None
    ) -> dict[str, Any]:
        """The claims of `token` if its signature verifies with a published key.

        Checks the signature, algorithm and type only; the caller checks the claims.
        A token whose signature verified before (the very same string, VERIFIED_MEMORY)
        is not verified again; everything else, its key's state included, is checked
        every time, so a retired key's tokens stop verifying at once all the same.
        """
        try:
            obj = jws.extract_compact(token.encode("ascii"))
        except (JoseError, ValueError, TypeError, UnicodeError):
            raise InvalidTokenError("not a compact JWS") from None
        header = obj.headers()
        if not isinstance(header, dict):  # e.g. a header that is the JSON string "alg"
            raise InvalidTokenError("not a compact JWS")
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in SUPPORTED_ALGS:
            raise InvalidTokenError(f"algorithm {alg!r} is not accepted")
        if alg not in algs:
            raise InvalidTokenError(f"algorithm {alg} is not allowed here")
        if typ is not None and not _same_type(header.get("typ"), typ):
            raise InvalidTokenError(f"token type is not {typ}")
        if not isinstance(kid, str) or not kid:
            raise InvalidTokenError("no key id")
        key = self._published(kid)
        if key.material.alg != alg:
            raise InvalidTokenError(f"key {kid} signs only with {key.material.alg}")
        if key.verify_until is not None and time.time() >= key.verify_until:
            raise InvalidTokenError("the key is retired")
        if token not in self._verified:
            try:
                valid = jws.validate_compact(
                    obj, key.material.public, registry=key.material.registry
                )
            except (JoseError, ValueError):
                valid = False
            if not valid:
                raise InvalidTokenError("bad signature")
            self._remember_verified(token)
        try:
            claims = json.loads(obj.payload)
        except ValueError:
            raise InvalidTokenError("payload is not JSON") from None
        if not isinstance(claims, dict):
            raise InvalidTokenError("payload is not a JSON object")
        return claims

    def _remember_verified(self, token: str) -> None:
        if self._verified_memory <= 0:
            return
        with self._verified_lock:
            if len(self._verified) >= self._verified_memory:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = None

    def jwks(self) -> dict[str, Any]:
        """The public keys that RPs may meet in tokens: next, active and retiring."""
        return {"keys": [dict(k) for k in self._fresh().jwks]}

    def jwks_json(self) -> bytes:
        """`jwks()` as compact JSON, built once per reload (the JWKS endpoint serves it)."""
        return self._fresh().jwks_json

    # -- managing keys (idp/keys/lifecycle.py), then reloading ---------------------------
    def ensure_keys(self, algs: Iterable[str] = DEFAULT_ALGS) -> None:
        """Make sure each of `algs` has an active key and a next one."""
        self._lifecycle.ensure(algs)
        self._reload(force=True)

    def rotate(
        self, alg: str, *, audit: Callable[[Session, Rotation], object] | None = None
    ) -> str:
        """Activate `alg`'s next key (see `KeyLifecycle.rotate`); returns the new kid."""
        rotation = self._lifecycle.rotate(alg, audit)
        self._reload(force=True)
        return rotation.kid

    def retire(
        self, kid: str, *, audit: Callable[[Session, SigningKey], object] | None = None
    ) -> SigningKey:
        """Retire a next or retiring key now, e.g. one thought compromised: its tokens stop
        verifying at once and it leaves the JWKS. An active key must be rotated out first."""
        key = self._lifecycle.retire(kid, audit)
        self._reload(force=True)
        return key

    def retire_expired(self) -> list[str]:
        """Retire the retiring keys that no unexpired token can carry any more."""
        retired = self._lifecycle.retire_expired()
        self._reload(force=True)
        return list(retired)

    def list_keys(self) -> list[dict[str, Any]]:
        """Every key with its state and dates (ISO 8601), oldest first."""
        return self._lifecycle.list_keys()

    # -- the in-memory snapshot ---------------------------------------------------------
    def _fresh(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and time.monotonic() - snapshot.loaded_at < self._refresh:
            return snapshot
        if snapshot is None:
            return self._reload(force=False)
        # One thread reloads; the others keep using keys at most one refresh old.
        if not self._lock.acquire(blocking=False):
            return snapshot
        try:
            if self._snapshot is snapshot:
                self._reload_locked()
            return self._snapshot or snapshot
        finally:
            self._lock.release()

    def _published(self, kid: str) -> _Published:
        snapshot = self._fresh()
        key = snapshot.published.get(kid)
        if key is None and kid not in snapshot.retired and len(kid) <= _MAX_KID:
            snapshot = self._reload_for_unknown_kid()
            key = snapshot.published.get(kid)
        if key is None:
            raise InvalidTokenError(
                "the key is retired" if kid in snapshot.retired else "unknown key id"
            )
        return key

    def _reload_for_unknown_kid(self) -> _Snapshot:
        asked = time.monotonic()
        with self._lock:
            current = self._snapshot
            assert current is not None
            if current.loaded_at >= asked:
                return current  # another thread reloaded while we waited
            if asked - self._last_forced < UNKNOWN_KID_RELOAD_INTERVAL:
                return current
            self._last_forced = asked
            return self._reload_locked()

    def _reload(self, *, force: bool) -> _Snapshot:
        with self._lock:
            if self._snapshot is not None and not force:
                return self._snapshot
            return self._reload_locked()

    def _reload_locked(self) -> _Snapshot:
        try:
            snapshot = self._load()
        except SQLAlchemyError as exc:
            if self._snapshot is None:
                raise DatabaseUnavailableError() from exc
            log.warning("signing keys not reloaded, using those in memory: %s", exc)
            snapshot = replace(self._snapshot, loaded_at=time.monotonic())
        self._snapshot = snapshot
        return snapshot

    def _load(self) -> _Snapshot:
        with self._factory() as session:
            rows = session.execute(
                select(
                    SigningKey.kid,
                    SigningKey.alg,
                    SigningKey.state,
                    SigningKey.retiring_at,
                    SigningKey.public_jwk,
                )
            ).all()
            wanted = [
                row.kid
                for row in rows
                if row.state in PUBLISHED_STATES
                and row.kid not in self._materials
                and row.kid not in self._rejected
            ]
            sealed: dict[str, bytes] = {}
            if wanted:
                sealed = {
                    kid: blob
                    for kid, blob in session.execute(
                        select(SigningKey.kid, SigningKey.private_sealed).where(
                            SigningKey.kid.in_(wanted)
                        )
                    )
                }
        for row in rows:
            if row.kid in sealed:
                self._admit(row.kid, row.alg, sealed[row.kid], row.public_jwk)
        return self._snapshot_of(rows)

    def _admit(self, kid: str, alg: str, sealed: bytes, public_jwk: dict[str, Any]) -> None:
        try:
            self._materials[kid] = open_key(self._kek, kid, alg, sealed, public_jwk)
        except (SealError, JoseError, ValueError, TypeError) as exc:
            log.error("signing key %s refused, not used or published: %s", kid, exc)
            self._rejected.add(kid)

    def _snapshot_of(self, rows: Iterable[Any]) -> _Snapshot:
        now = time.time()
        published: dict[str, _Published] = {}
        active: dict[str, KeyMaterial] = {}
        retired: set[str] = set()
        for row in rows:
            material = self._materials.get(row.kid)
            if row.state == KeyState.RETIRED:
                retired.add(row.kid)
            if row.state not in PUBLISHED_STATES or material is None or material.alg != row.alg:
                continue
            until = None
            if row.state == KeyState.RETIRING and row.retiring_at is not None:
                until = row.retiring_at.timestamp() + self._max_token_ttl
            published[row.kid] = _Published(material, row.state, until)
            if row.state == KeyState.ACTIVE:
                active[row.alg] = material
        self._materials = {kid: m for kid, m in self._materials.items() if kid in published}
        order = {KeyState.ACTIVE: 0, KeyState.NEXT: 1, KeyState.RETIRING: 2}
        shown = sorted(
            (
                key
                for key in published.values()
                if key.verify_until is None or now < key.verify_until
            ),
            key=lambda key: (order[KeyState(key.state)], key.material.alg, key.material.kid),
        )
        jwks = tuple(key.material.public_jwk for key in shown)
        return _Snapshot(
            loaded_at=time.monotonic(),
            published=published,
            active=active,
            retired=frozenset(retired),
            jwks=jwks,
            jwks_json=json.dumps({"keys": jwks}, separators=(",", ":")).encode(),
        )


def _same_type(found: object, wanted: str) -> bool:
    """`typ` values compare case-insensitively, with or without `application/` (RFC 7515)."""
    if not isinstance(found, str):
        return False
    return _media_type(found) == _media_type(wanted)


def _media_type(value: str) -> str:
    value = value.lower()
    return value.removeprefix("application/")
