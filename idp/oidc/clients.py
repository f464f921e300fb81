"""Registering relying parties and finding them fast.

Redirect URIs are matched exactly; `http:` is allowed only on loopback (RFC 8252 7.3).
A short-lived in-process cache keeps client lookups off the database on the token path;
a changed client is seen everywhere within `CACHE_SECONDS`.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.oidc.models import Client, hash_secret

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
SUBJECT_TYPES = ("pairwise", "public")
# What a client may ask its tokens to be signed with; SM2SM3 is SM2 over SM3 (国密).
ID_TOKEN_ALGS = ("RS256", "ES256", "EdDSA", "SM2SM3")
ACCESS_TOKEN_ALGS = ("ES256", "RS256", "EdDSA", "SM2SM3")
CACHE_SECONDS = 5.0


class ClientMetadataError(ValueError):
    """Client metadata breaks a rule; `field` names the metadata, RFC 7591 style."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_redirect_uri(uri: str, field: str = "redirect_uris") -> str:
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ClientMetadataError(field, f"{uri!r} must be an absolute https URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ClientMetadataError(field, f"{uri!r}: http is allowed only for loopback hosts")
    if parts.fragment or "#" in uri:
        raise ClientMetadataError(field, f"{uri!r} must not have a fragment")
    return uri


@dataclass(frozen=True)
class NewClient:
    client: Client
    secret: str | None


def create_client(
    session: Session,
    *,
    name: str,
    redirect_uris: Iterable[str] = (),
    grant_types: Iterable[str] = ("authorization_code",),
    scopes: Iterable[str] = ("openid",),
    token_endpoint_auth_method: str = "client_secret_basic",
    subject_type: str = "pairwise",
    sector_identifier: str | None = None,
    id_token_signed_response_alg: str = "RS256",
    access_token_signed_alg: str = "ES256",
    post_logout_redirect_uris: Iterable[str] = (),
    backchannel_logout_uri: str | None = None,
    userinfo_signed_response_alg: str | None = None,
    jwks: dict | None = None,
    jwks_uri: str | None = None,
    first_party: bool = False,
    client_id: str | None = None,
) -> NewClient:
    redirect_uris = [check_redirect_uri(u) for u in redirect_uris]
    post_logout = [
        check_redirect_uri(u, "post_logout_redirect_uris") for u in post_logout_redirect_uris
    ]
    grant_types = list(dict.fromkeys(grant_types))
    scopes = list(dict.fromkeys(scopes))
    if not name.strip():
        raise ClientMetadataError("client_name", "must not be empty")
    for grant in grant_types:
        if grant not in GRANT_TYPES:
            raise ClientMetadataError("grant_types", f"{grant!r} is not supported")
    if "authorization_code" in grant_types and not redirect_uris:
        raise ClientMetadataError("redirect_uris", "required for authorization_code")
    if token_endpoint_auth_method not in AUTH_METHODS:
        raise ClientMetadataError("token_endpoint_auth_method", f"one of {', '.join(AUTH_METHODS)}")
    if token_endpoint_auth_method == "none" and "client_credentials" in grant_types:
        raise ClientMetadataError("grant_types", "a public client cannot use client_credentials")
    if jwks and jwks_uri:
        raise ClientMetadataError("jwks_uri", "give jwks or jwks_uri, not both")
    if jwks_uri:
        check_redirect_uri(jwks_uri, "jwks_uri")
    if token_endpoint_auth_method == "private_key_jwt" and not (jwks or jwks_uri):
        raise ClientMetadataError("jwks", "jwks or jwks_uri is required for private_key_jwt")
    if subject_type not in SUBJECT_TYPES:
        raise ClientMetadataError("subject_type", f"one of {', '.join(SUBJECT_TYPES)}")
    if id_token_signed_response_alg not in ID_TOKEN_ALGS:
        raise ClientMetadataError(
            "id_token_signed_response_alg", f"one of {', '.join(ID_TOKEN_ALGS)}"
        )
    if access_token_signed_alg not in ACCESS_TOKEN_ALGS:
        raise ClientMetadataError(
            "access_token_signed_alg", f"one of {', '.join(ACCESS_TOKEN_ALGS)}"
        )
    if userinfo_signed_response_alg is not None and (
        userinfo_signed_response_alg not in ID_TOKEN_ALGS
    ):
        raise ClientMetadataError(
            "userinfo_signed_response_alg", f"one of {', '.join(ID_TOKEN_ALGS)}"
        )
    if backchannel_logout_uri:
        check_redirect_uri(backchannel_logout_uri, "backchannel_logout_uri")
    if subject_type == "pairwise" and not sector_identifier:
        hosts = {urlsplit(u).hostname for u in redirect_uris}
        if len(hosts) > 1:
            raise ClientMetadataError(
                "sector_identifier_uri", "required when redirect URIs span several hosts"
            )

    secret = None
    if token_endpoint_auth_method in ("client_secret_basic", "client_secret_post"):
        secret = secrets.token_urlsafe(32)
    client = Client(
        client_id=client_id or secrets.token_urlsafe(16),
        client_secret_hash=hash_secret(secret) if secret else None,
        name=name.strip(),
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout,
        grant_types=grant_types,
        scopes=scopes,
        token_endpoint_auth_method=token_endpoint_auth_method,
        subject_type=subject_type,
        sector_identifier=sector_identifier,
        id_token_signed_response_alg=id_token_signed_response_alg,
        access_token_signed_alg=access_token_signed_alg,
        userinfo_signed_response_alg=userinfo_signed_response_alg,
        backchannel_logout_uri=backchannel_logout_uri,
        jwks=jwks,
        jwks_uri=jwks_uri,
        first_party=first_party,
    )
    session.add(client)
    session.flush()
    return NewClient(client, secret)


class ClientRegistry:
    """Finds clients by id with a small time-bounded cache (thread-safe)."""

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory
        self._cache: dict[str, tuple[float, Client | None]] = {}
        self._lock = threading.Lock()

    def get(self, client_id: str | None) -> Client | None:
        if not client_id or len(client_id) > 64:
            return None
        now = time.monotonic()
        hit = self._cache.get(client_id)
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        with self._session_factory() as session:
            client = session.get(Client, client_id)
            if client is not None:
                session.expunge(client)
        with self._lock:
            if len(self._cache) > 10_000:  # unknown ids must not grow memory without bound
                self._cache.clear()
            self._cache[client_id] = (now, client)
        return client

    def forget(self, client_id: str) -> None:
        self._cache.pop(client_id, None)


def signing_algs_in_use(session: Session) -> set[str]:
    """Every algorithm some client asks its tokens or userinfo to be signed with."""
    columns = (
        Client.id_token_signed_response_alg,
        Client.access_token_signed_alg,
        Client.userinfo_signed_response_alg,
    )
    rows = session.execute(select(*columns).distinct()).all()
    return {alg for row in rows for alg in row if alg}


def list_clients(session: Session) -> list[Client]:
    return list(session.scalars(select(Client).order_by(Client.created_at)))
