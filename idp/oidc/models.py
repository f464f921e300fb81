"""Relying parties (clients) and the consents persons gave them.

Client metadata follows RFC 7591 names so the admin API can speak them unchanged.
Lists (redirect URIs, grant types, scopes) are JSON arrays in a native JSON column.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import JSON, Boolean, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from idp.authn.models import Consent
from idp.db import Base, created_at, updated_at

__all__ = ["Client", "Consent", "hash_secret"]


def hash_secret(secret: str) -> str:
    """Client secrets are high-entropy: a SHA-256 digest is enough, and fast."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Client(Base):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    subject_type: Mapped[str] = mapped_column(String(16), default="pairwise")
    sector_identifier: Mapped[str | None] = mapped_column(String(255))
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(16), default="RS256")
    access_token_signed_alg: Mapped[str] = mapped_column(String(16), default="ES256")
    # None: userinfo answers plain JSON; else a JWT signed with this algorithm
    userinfo_signed_response_alg: Mapped[str | None] = mapped_column(String(16))
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(512))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # where the client publishes its keys (private_key_jwt), instead of `jwks`
    jwks_uri: Mapped[str | None] = mapped_column(String(512))
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    # Confidential clients (resource servers, e.g. the department's API) named in this
    # client's access tokens' `aud`: they, and only they besides the client, may
    # introspect those tokens (RFC 7662 2.2, 4)
    resource_servers: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # The channel the client serves (web hall, the official app, a kiosk fleet, the
    # hotline's agent desk): the sessions it starts are recorded with it.
    channel: Mapped[str] = mapped_column(String(16), default="web", server_default="web")
    # OpenID CIBA Core 4: poll or ping (push is not offered), where a ping goes, and
    # whether the client sends a user_code with its requests
    backchannel_token_delivery_mode: Mapped[str | None] = mapped_column(String(8))
    backchannel_client_notification_endpoint: Mapped[str | None] = mapped_column(String(512))
    backchannel_user_code_parameter: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # OpenID Front-Channel Logout 1.0: loaded in an iframe when the person signs out
    frontchannel_logout_uri: Mapped[str | None] = mapped_column(String(512))
    # PNG or JPEG shown on sign-in and consent, served from our origin (checked when
    # registered: idp/oidc/logos.py); deferred, so loading a client never reads it
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    # -- Authlib ClientMixin ---------------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # OIDC requires redirect_uri in every request; never guess one.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        return " ".join(s for s in scope.split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact string match, nothing else

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.client_secret_hash:
            return False
        return hmac.compare_digest(hash_secret(client_secret), self.client_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    # -- ours ------------------------------------------------------------------------------
    @property
    def public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def sector(self) -> str:
        """The pairwise sector: the registered sector, else the redirect URIs' one host.
        Worked out once per loaded client (the registry reloads a changed client)."""
        cached = self.__dict__.get("_sector")
        if cached is None:
            if self.sector_identifier:
                cached = self.sector_identifier
            else:
                hosts = {urlsplit(uri).hostname or "" for uri in self.redirect_uris}
                cached = hosts.pop() if len(hosts) == 1 else self.client_id
            self.__dict__["_sector"] = cached
        return cached
