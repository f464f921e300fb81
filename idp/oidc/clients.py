"""Registering relying parties and finding them fast.

Redirect URIs are matched exactly; `http:` is allowed only on loopback (RFC 8252 7.3).
A short-lived in-process cache keeps client lookups off the database on the token path;
a changed client is seen everywhere within `CACHE_SECONDS`.

What is registered is what can be asked for: a client_id is RFC 6749 A.1 text that fits its
column, and each scope is one RFC 6749 3.3 scope token. A client_id no client can have (a
NUL, which PostgreSQL refuses, or one too long) is simply unknown when looked up, so every
endpoint answers it as its protocol answers an unknown client.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.oidc.claims import SCOPES_SUPPORTED
from idp.oidc.features import CIBA_GRANT, FEATURES, JWT_BEARER_GRANT
from idp.oidc.models import Client, hash_secret

# what a client may register: what idp/oidc/features.py turns on
AUTH_METHODS = FEATURES.client_auth_methods
GRANT_TYPES = FEATURES.grant_types
SUBJECT_TYPES = ("pairwise", "public")
CHANNELS = ("web", "app", "kiosk", "hotline")
CIBA_DELIVERY_MODES = ("poll", "ping")  # OpenID CIBA Core 5; push is not offered
# What a client may ask its tokens to be signed with; SM2SM3 is SM2 over SM3 (国密).
ID_TOKEN_ALGS = ("RS256", "ES256", "EdDSA", "SM2SM3")
ACCESS_TOKEN_ALGS = ("ES256", "RS256", "EdDSA", "SM2SM3")
CACHE_SECONDS = 5.0
# RFC 6749 A.1: client-id = *VSCHAR (printable ASCII); at most the column's 64 characters
CLIENT_ID = re.compile(r"[\x20-\x7e]{1,64}")
# RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
MAX_NAME = 128  # Client.name


def possible_client_id(client_id: object) -> bool:
    """Whether some client could have this id; anything else is an unknown client,
    refused before the database (psycopg cannot even send a NUL)."""
    return isinstance(client_id, str) and CLIENT_ID.fullmatch(client_id) is not None


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


def check_redirect_uri(uri: str, field: str = "redirect_uris", max_length: int = 2048) -> str:
    if len(uri) > max_length or any(c <= " " or c == "\x7f" for c in uri):
        message = f"at most {max_length} characters, no spaces or control characters"
        raise ClientMetadataError(field, f"{uri!r}: {message}")
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ClientMetadataError(field, f"{uri!r} must be an absolute https URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ClientMetadataError(field, f"{uri!r}: http is allowed only for loopback hosts")
    if parts.fragment or "#" in uri:
        raise ClientMetadataError(field, f"{uri!r} must not have a fragment")
    return uri


def scope_tokens(values: Iterable[str], grant_types: Iterable[str]) -> list[str]:
    """The scope tokens in `values`, each of which may hold several ("openid profile", as
    a scope parameter is written), in order, once each.

    Each must be one this provider supports, or no authorization request could ever be
    granted it. A client that may use client_credentials may also have other, API scopes:
    those only its resource servers give a meaning to.
    """
    tokens = list(dict.fromkeys(token for value in values for token in value.split()))
    if not tokens:
        raise ClientMetadataError("scope", "give at least one scope")
    api_scopes_allowed = "client_credentials" in grant_types
    for token in tokens:
        if not SCOPE_TOKEN.fullmatch(token):
            raise ClientMetadataError("scope", f"{token!r} is not an RFC 6749 scope token")
        if token not in SCOPES_SUPPORTED and not api_scopes_allowed:
            raise ClientMetadataError(
                "scope", f"{token!r} is not supported (one of {', '.join(SCOPES_SUPPORTED)})"
            )
    return tokens


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
    resource_servers: Iterable[str] = (),
    channel: str = "web",
    backchannel_token_delivery_mode: str | None = None,
    backchannel_client_notification_endpoint: str | None = None,
    backchannel_user_code_parameter: bool = False,
    frontchannel_logout_uri: str | None = None,
) -> NewClient:
    redirect_uris = [check_redirect_uri(u) for u in redirect_uris]
    post_logout = [
        check_redirect_uri(u, "post_logout_redirect_uris") for u in post_logout_redirect_uris
    ]
    grant_types = list(dict.fromkeys(grant_types))
    if not name.strip():
        raise ClientMetadataError("client_name", "must not be empty")
    if len(name.strip()) > MAX_NAME or "\x00" in name:
        raise ClientMetadataError("client_name", f"at most {MAX_NAME} characters, no NUL")
    if client_id is not None and not possible_client_id(client_id):
        raise ClientMetadataError("client_id", "1 to 64 printable ASCII characters")
    for grant in grant_types:
        if grant not in GRANT_TYPES:
            raise ClientMetadataError("grant_types", f"{grant!r} is not supported")
    scopes = scope_tokens(scopes, grant_types)
    if "authorization_code" in grant_types and not redirect_uris:
        raise ClientMetadataError("redirect_uris", "required for authorization_code")
    if token_endpoint_auth_method not in AUTH_METHODS:
        raise ClientMetadataError("token_endpoint_auth_method", f"one of {', '.join(AUTH_METHODS)}")
    if token_endpoint_auth_method == "none" and "client_credentials" in grant_types:
        raise ClientMetadataError("grant_types", "a public client cannot use client_credentials")
    if jwks and jwks_uri:
        raise ClientMetadataError("jwks_uri", "give jwks or jwks_uri, not both")
    if jwks_uri:
        check_redirect_uri(jwks_uri, "jwks_uri", max_length=512)
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
        check_redirect_uri(backchannel_logout_uri, "backchannel_logout_uri", max_length=512)
    if sector_identifier is not None and not 0 < len(sector_identifier) <= 255:
        raise ClientMetadataError("sector_identifier_uri", "1 to 255 characters")
    if sector_identifier is not None and not sector_identifier.isprintable():
        raise ClientMetadataError("sector_identifier_uri", "printable characters only")
    if subject_type == "pairwise" and not sector_identifier:
        hosts = {urlsplit(u).hostname for u in redirect_uris}
        if len(hosts) > 1:
            raise ClientMetadataError(
                "sector_identifier_uri", "required when redirect URIs span several hosts"
            )

    if channel not in CHANNELS:
        raise ClientMetadataError("channel", f"one of {', '.join(CHANNELS)}")
    _check_ciba(
        grant_types,
        token_endpoint_auth_method,
        backchannel_token_delivery_mode,
        backchannel_client_notification_endpoint,
        backchannel_user_code_parameter,
    )
    if JWT_BEARER_GRANT in grant_types and token_endpoint_auth_method != "private_key_jwt":
        raise ClientMetadataError(
            "token_endpoint_auth_method", "a JWT bearer (kiosk) client uses private_key_jwt"
        )
    if frontchannel_logout_uri:
        check_redirect_uri(frontchannel_logout_uri, "frontchannel_logout_uri", max_length=512)

    audiences = _resource_servers(session, list(dict.fromkeys(resource_servers)), client_id)

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
        resource_servers=audiences,
        channel=channel,
        backchannel_token_delivery_mode=backchannel_token_delivery_mode,
        backchannel_client_notification_endpoint=backchannel_client_notification_endpoint,
        backchannel_user_code_parameter=backchannel_user_code_parameter,
        frontchannel_logout_uri=frontchannel_logout_uri,
    )
    session.add(client)
    session.flush()
    return NewClient(client, secret)


def _check_ciba(
    grant_types: list[str],
    auth_method: str,
    mode: str | None,
    endpoint: str | None,
    user_code: bool,
) -> None:
    """OpenID CIBA Core 4: a CIBA client is confidential and says how it gets its tokens;
    a ping goes to an https endpoint (http on loopback only, as redirect URIs). The CIBA
    metadata means nothing to another client, so it is refused there rather than kept."""
    if CIBA_GRANT not in grant_types:
        if mode or endpoint or user_code:
            raise ClientMetadataError(
                "backchannel_token_delivery_mode", f"only for clients with the {CIBA_GRANT} grant"
            )
        return
    if auth_method == "none":
        raise ClientMetadataError("token_endpoint_auth_method", "a CIBA client is confidential")
    if mode not in CIBA_DELIVERY_MODES:
        raise ClientMetadataError(
            "backchannel_token_delivery_mode", f"one of {', '.join(CIBA_DELIVERY_MODES)}"
        )
    if mode == "ping" and not endpoint:
        raise ClientMetadataError(
            "backchannel_client_notification_endpoint", "required in ping mode"
        )
    if mode == "poll" and endpoint:
        raise ClientMetadataError("backchannel_client_notification_endpoint", "only in ping mode")
    if endpoint:
        check_redirect_uri(endpoint, "backchannel_client_notification_endpoint", max_length=512)


def _resource_servers(session: Session, ids: list[str], own_id: str | None) -> list[str]:
    """Resource servers must be registered confidential clients: a public client cannot
    authenticate to introspect, and an unknown id would be an audience nobody holds."""
    for rs_id in ids:
        found = session.get(Client, rs_id) if possible_client_id(rs_id) else None
        if found is None:
            raise ClientMetadataError("resource_servers", f"{rs_id!r} is not a registered client")
        if found.public:
            raise ClientMetadataError("resource_servers", f"{rs_id!r} is a public client")
        if rs_id == own_id:
            raise ClientMetadataError("resource_servers", "a client is not its own resource server")
    return ids


class ClientRegistry:
    """Finds clients by id with a small time-bounded cache (thread-safe)."""

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory
        self._cache: dict[str, tuple[float, Client | None]] = {}
        self._lock = threading.Lock()

    def get(self, client_id: str | None) -> Client | None:
        if not possible_client_id(client_id):
            return None
        assert client_id is not None
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
