"""How signing keys move through their states in the database: created, rotated, retired.

A key moves `next` -> `active` -> `retiring` -> `retired` (see `models.py`). Each change
here is one transaction, safe when several processes race (the partial unique indexes
let one win; the others look again). The in-memory key ring (`keyring.py`) calls these and
reloads; nothing here signs or verifies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.db import utcnow
from idp.keys.algorithms import SUPPORTED_ALGS, NewKey, generate
from idp.keys.models import KeyState, SigningKey

log = logging.getLogger(__name__)

DEFAULT_ALGS = ("RS256", "ES256")
_ATTEMPTS = 3  # for transactions that lose a race to another process
_LIVE = (KeyState.ACTIVE, KeyState.NEXT)


@dataclass(frozen=True)
class Rotation:
    """What a rotation changed, handed to the audit hook inside the rotation's transaction."""

    alg: str
    kid: str  # now active
    previous: str | None  # now retiring
    next: str  # published, signs at the next rotation
    retired: tuple[str, ...]


class KeyLifecycle:
    def __init__(
        self, kek: bytes, session_factory: Callable[[], Session], *, max_token_ttl: int
    ) -> None:
        self._kek = kek
        self._factory = session_factory
        self._max_token_ttl = max_token_ttl

    def ensure(self, algs: Iterable[str]) -> None:
        """Make sure each of `algs` has an active key and a next one (published before it
        signs, so RPs that cache the JWKS already hold it when it becomes active)."""
        algs = tuple(algs)
        for alg in algs:
            _check_alg(alg)
        for _attempt in range(_ATTEMPTS):
            with self._factory() as session:
                have = {
                    (row.alg, row.state)
                    for row in session.execute(
                        select(SigningKey.alg, SigningKey.state).where(SigningKey.state.in_(_LIVE))
                    )
                }
            missing = [(alg, state) for alg in algs for state in _LIVE if (alg, state) not in have]
            if not missing:
                return
            # slow for RSA: made outside the transaction
            new_keys = [(generate(alg, self._kek), state) for alg, state in missing]
            try:
                with self._factory() as session, session.begin():
                    now = utcnow()
                    session.add_all(_row(key, now, state) for key, state in new_keys)
            except IntegrityError:
                continue  # another process made one first; look again
            for key, state in new_keys:
                log.info("created signing key %s (%s, %s)", key.kid, key.alg, state)
            return

    def rotate(self, alg: str, audit: Callable[[Session, Rotation], object] | None) -> Rotation:
        """The `next` key of `alg` becomes active (a fresh key if there is none), the
        active one becomes retiring (still published and verifying), a new `next` key is
        published, and retiring keys older than the longest token lifetime retire.
        `audit(session, rotation)` runs in the same transaction."""
        _check_alg(alg)
        for attempt in range(1, _ATTEMPTS + 1):
            # Made outside the transaction (RSA is slow); `spare` is used only if no next
            # key was published, e.g. on a database from before next keys existed.
            successor, spare = generate(alg, self._kek), generate(alg, self._kek)
            try:
                rotation = self._rotate_once(alg, successor, spare, audit)
            except IntegrityError:
                if attempt == _ATTEMPTS:
                    raise
                continue  # a concurrent rotation moved first: go on from its result
            log.info("rotated %s signing key: %s -> %s", alg, rotation.previous, rotation.kid)
            return rotation
        raise AssertionError("unreachable")

    def _rotate_once(
        self,
        alg: str,
        successor: NewKey,
        spare: NewKey,
        audit: Callable[[Session, Rotation], object] | None,
    ) -> Rotation:
        with self._factory() as session, session.begin():
            now = utcnow()
            current = {
                key.state: key
                for key in session.scalars(
                    select(SigningKey)
                    .where(SigningKey.alg == alg, SigningKey.state.in_(_LIVE))
                    .with_for_update()
                )
            }
            previous, waiting = current.get(KeyState.ACTIVE), current.get(KeyState.NEXT)
            if previous is not None:
                previous.state, previous.retiring_at = KeyState.RETIRING, now
                session.flush()  # free the one active place before taking it
            if waiting is not None:
                waiting.state, waiting.activated_at = KeyState.ACTIVE, now
                session.flush()  # free the one next place before taking it
                new_kid = waiting.kid
            else:
                session.add(_row(spare, now, KeyState.ACTIVE))
                new_kid = spare.kid
            session.add(_row(successor, now, KeyState.NEXT))
            retired = self._retire_expired_in(session, now)
            rotation = Rotation(
                alg, new_kid, previous.kid if previous else None, successor.kid, retired
            )
            if audit is not None:
                audit(session, rotation)
        return rotation

    def retire(self, kid: str, audit: Callable[[Session, SigningKey], object] | None) -> SigningKey:
        """Retire a next or retiring key now. Raises KeyError for an unknown kid and
        ValueError for an active or retired one."""
        with self._factory() as session, session.begin():
            key = session.get(SigningKey, kid, with_for_update=True)
            if key is None:
                raise KeyError(kid)
            if key.state == KeyState.ACTIVE:
                raise ValueError(f"{kid} is active: run `idp keys rotate --alg {key.alg}` first")
            if key.state == KeyState.RETIRED:
                raise ValueError(f"{kid} is already retired")
            key.state, key.retired_at = KeyState.RETIRED, utcnow()
            if audit is not None:
                audit(session, key)
            session.flush()
            session.expunge(key)
        log.info("retired signing key %s by hand", kid)
        return key

    def retire_expired(self) -> tuple[str, ...]:
        """Retire the retiring keys that no unexpired token can carry any more."""
        with self._factory() as session, session.begin():
            retired = self._retire_expired_in(session, utcnow())
        if retired:
            log.info("retired signing keys %s", ", ".join(retired))
        return retired

    def list_keys(self) -> list[dict[str, Any]]:
        """Every key with its state and dates (ISO 8601), oldest first."""
        columns = (
            SigningKey.kid,
            SigningKey.alg,
            SigningKey.state,
            SigningKey.created_at,
            SigningKey.activated_at,
            SigningKey.retiring_at,
            SigningKey.retired_at,
        )
        with self._factory() as session:
            rows = session.execute(
                select(*columns).order_by(SigningKey.created_at, SigningKey.kid)
            ).all()
        return [{name: _iso(value) for name, value in row._asdict().items()} for row in rows]

    def _retire_expired_in(self, session: Session, now: datetime) -> tuple[str, ...]:
        cutoff = now - timedelta(seconds=self._max_token_ttl)
        expired = session.scalars(
            select(SigningKey).where(
                SigningKey.state == KeyState.RETIRING, SigningKey.retiring_at < cutoff
            )
        ).all()
        for key in expired:
            key.state, key.retired_at = KeyState.RETIRED, now
        return tuple(key.kid for key in expired)


def _check_alg(alg: str) -> None:
    if alg not in SUPPORTED_ALGS:
        raise ValueError(f"unsupported signing algorithm {alg!r}")


def _row(key: NewKey, now: datetime, state: KeyState) -> SigningKey:
    return SigningKey(
        kid=key.kid,
        alg=key.alg,
        state=state,
        private_sealed=key.private_sealed,
        public_jwk=key.public_jwk,
        created_at=now,
        activated_at=now if state == KeyState.ACTIVE else None,
    )


def _iso(value: object) -> object:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value
