"""Relying parties as administrators register them: metadata checked by
idp.oidc.clients, signing keys for what the client asks for, an audit row.

Registration is not one transaction in the caller's session, because the signing keys
must exist before the client does (else it could be issued tokens nobody can sign) and
the key ring writes them in a transaction of its own; on SQLite that transaction would
wait forever behind a caller's open write. So the metadata is checked first in a
transaction that is rolled back, then the keys are made, then the client is registered
with its audit row in one transaction. A refused client leaves no client, no audit row
and no new key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin.services.errors import ConflictError, InvalidInputError, NotFoundError, check_actor
from idp.audit import record_event
from idp.audit.events import Event
from idp.keys import KeyRing
from idp.oidc.clients import (
    ClientMetadataError,
    NewClient,
    create_client,
    list_clients,
    possible_client_id,
)
from idp.oidc.logos import check_logo
from idp.oidc.models import Client

OFFICIAL_APP_NAME = "政务服务 App"
OFFICIAL_APP_REDIRECT = "http://127.0.0.1/app/callback"
REFUSED = "invalid_client_metadata"  # RFC 7591's error code: every refusal's rule


class ClientAdmin:
    def __init__(self, session_factory: Callable[[], Session], keyring: KeyRing) -> None:
        self._factory = session_factory
        self._keyring = keyring

    def register(self, *, actor: str, logo: bytes | None = None, **metadata: Any) -> NewClient:
        """Register a client described by `create_client`'s keywords, with its `logo`
        (PNG or JPEG, idp.oidc.logos). The secret, if it has one, is in the answer and
        nowhere else: only its hash is stored."""
        check_actor(actor)
        _check_logo(logo)
        algs = self._check(metadata)
        self._keyring.ensure_keys(algs)
        try:
            with self._factory() as session, session.begin():
                new = create_client(session, **metadata)
                new.client.logo = logo
                record_event(
                    session,
                    Event.client_created,
                    actor=actor,
                    channel="admin",
                    detail={"client_id": new.client.client_id},
                )
        except ClientMetadataError as exc:  # e.g. a resource server removed meanwhile
            raise _invalid(exc) from exc
        except IntegrityError as exc:  # the same client_id registered a moment ago
            raise _taken(metadata.get("client_id")) from exc
        return new

    def set_logo(self, *, actor: str, client_id: str, logo: bytes | None) -> None:
        """Register the client's logo, or remove it (None). A refused file changes
        nothing; the pages show the new logo within the client cache's few seconds."""
        check_actor(actor)
        _check_logo(logo)
        with self._factory() as session, session.begin():
            client = session.get(Client, client_id) if possible_client_id(client_id) else None
            if client is None:
                raise NotFoundError(
                    f"client_id: {client_id!r} is not registered", field="client_id"
                )
            client.logo = logo
            record_event(
                session,
                Event.client_logo_changed,
                actor=actor,
                channel="admin",
                detail={"client_id": client_id, "logo": "set" if logo else "removed"},
            )

    def ensure_official_app(self, client_id: str) -> Client | None:
        """The official mobile app: a first-party public native client (code + PKCE, a
        loopback redirect as RFC 8252 7.3 has it) that exists in every deployment. Made
        once, with an audit row; None when it was there already (it is never changed)."""
        with self._factory() as session:
            if session.get(Client, client_id) is not None:
                return None
        return self.register(
            actor="system:db-upgrade",
            client_id=client_id,
            name=OFFICIAL_APP_NAME,
            redirect_uris=[OFFICIAL_APP_REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            scopes=["openid", "profile", "phone"],
            token_endpoint_auth_method="none",  # noqa: S106 (a method name, not a secret)
            first_party=True,
            channel="app",
        ).client

    def list_clients(self) -> list[Client]:
        """Every client, oldest first."""
        with self._factory() as session:
            return list_clients(session)

    def _check(self, metadata: dict[str, Any]) -> set[str]:
        """Everything `create_client` checks, written nowhere; the signing algorithms the
        client will need keys for."""
        with self._factory() as session:
            try:
                client = create_client(session, **metadata).client
                algs = (
                    client.id_token_signed_response_alg,
                    client.access_token_signed_alg,
                    client.userinfo_signed_response_alg,
                )
            except ClientMetadataError as exc:
                raise _invalid(exc) from exc
            except IntegrityError as exc:
                raise _taken(metadata.get("client_id")) from exc
            finally:
                session.rollback()
        return {alg for alg in algs if alg}


def _check_logo(logo: bytes | None) -> None:
    if logo is None:
        return
    try:
        check_logo(logo)
    except ClientMetadataError as exc:
        raise _invalid(exc) from exc


def _invalid(exc: ClientMetadataError) -> InvalidInputError:
    return InvalidInputError(str(exc), field=exc.field, rule=REFUSED)


def _taken(client_id: object) -> ConflictError:
    return ConflictError(
        f"client_id: {client_id!r} is already registered", field="client_id", rule="exists"
    )
