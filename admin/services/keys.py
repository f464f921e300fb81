"""Signing keys as administrators handle them: list, rotate an algorithm's key, retire
one key now, and make sure every algorithm in use has keys.

The key ring writes in transactions of its own; the audit row of a rotation or a
retirement is written inside that transaction, so the change and its row are committed
together or not at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from admin.services.errors import ConflictError, InvalidInputError, NotFoundError, check_actor
from idp.audit import record_event
from idp.audit.events import Event
from idp.keys import DEFAULT_ALGS, SUPPORTED_ALGS, KeyRing, Rotation
from idp.keys.models import SigningKey
from idp.oidc.clients import signing_algs_in_use


def rotation_json(rotation: Rotation) -> dict[str, Any]:
    """What a rotation changed, as its audit row records it."""
    return {
        "alg": rotation.alg,
        "kid": rotation.kid,
        "previous": rotation.previous,
        "next": rotation.next,
        "retired": list(rotation.retired),
    }


class KeyAdmin:
    def __init__(self, keyring: KeyRing) -> None:
        self._keyring = keyring

    def list_keys(self) -> list[dict[str, Any]]:
        """Every signing key with its state and dates, oldest first."""
        return self._keyring.list_keys()

    def rotate(self, alg: str, *, actor: str) -> Rotation:
        """Make `alg`'s next key active; the old one keeps verifying (and stays in the
        JWKS) until every token it signed has expired."""
        check_actor(actor)
        if alg not in SUPPORTED_ALGS:
            raise InvalidInputError(f"unsupported algorithm {alg!r}", field="alg", rule="unknown")
        done: list[Rotation] = []

        def audit(session: Session, rotation: Rotation) -> None:
            detail = rotation_json(rotation)
            record_event(session, Event.key_rotated, actor=actor, channel="admin", detail=detail)
            done[:] = [rotation]  # the key ring may retry: the last attempt is the one committed

        self._keyring.rotate(alg, audit=audit)
        return done[0]

    def retire(self, kid: str, *, actor: str) -> SigningKey:
        """Retire a next or retiring key now (e.g. one thought compromised): tokens it
        signed stop verifying at once and it leaves the JWKS. An active key is rotated
        out first; a retired one stays retired."""
        check_actor(actor)

        def audit(session: Session, key: SigningKey) -> None:
            detail = {"kid": key.kid, "alg": key.alg}
            record_event(session, Event.key_retired, actor=actor, channel="admin", detail=detail)

        try:
            return self._keyring.retire(kid, audit=audit)
        except KeyError as exc:
            raise NotFoundError(f"no signing key {kid}", field="kid", rule="unknown") from exc
        except ValueError as exc:  # active, or already retired
            raise ConflictError(str(exc), field="kid", rule="state") from exc

    def ensure_in_use(self, session: Session | None) -> None:
        """Keys for the default algorithms and for every algorithm a client asks for: a
        database restored from elsewhere may hold clients whose keys it does not have.
        `session` is None when the schema is older than the code (clients unreadable)."""
        in_use = signing_algs_in_use(session) if session is not None else set()
        self._keyring.ensure_keys([*DEFAULT_ALGS, *sorted(in_use)])
