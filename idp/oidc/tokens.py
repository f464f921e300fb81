"""Issuing and checking tokens: RFC 9068 JWT access tokens, ID tokens, refresh tokens.

`TokenIssuer` is Authlib's token generator: every grant hands it the client, the scope and
(for person-bound grants) an `Authorization`. Access tokens carry the grant id (`gid`), so
revoking the grant in Redis makes every token of the family inactive at once.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from idp.accounts.models import Person
from idp.accounts.services import Accounts
from idp.crypto.sm3 import sm3_digest
from idp.keys import InvalidTokenError, KeyRing
from idp.oidc.artifacts import Artifacts
from idp.oidc.claims import org_claims, person_claims, released_claims
from idp.oidc.clients import ACCESS_TOKEN_ALGS
from idp.oidc.models import Client
from idp.oidc.subjects import session_for, subject_for

ACCESS_TOKEN_TYP = "at+jwt"


@dataclass
class Authorization:
    """What a person authorised, as the token endpoint knows it (Authlib's "user")."""

    person_id: str
    grant_id: str
    grant_exp: int  # when the grant ends (epoch seconds); its refresh tokens end with it
    auth_time: int
    acr: str
    amr: list[str]
    sid: str | None = None
    nonce: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    act_for: str | None = None  # organisation id chosen at sign-in, if any

    def get_user_id(self) -> str:
        return self.person_id


# The hash each signing algorithm is built on: at_hash/c_hash use it (OIDC Core 3.1.3.6).
# EdDSA with Ed25519 hashes with SHA-512 (OIDC Core errata); SM2SM3 with SM3.
_HALF_HASHES: dict[str, Callable[[bytes], bytes]] = {
    "RS256": lambda data: hashlib.sha256(data).digest(),
    "ES256": lambda data: hashlib.sha256(data).digest(),
    "EdDSA": lambda data: hashlib.sha512(data).digest(),
    "SM2SM3": sm3_digest,
}


def half_hash(value: str, alg: str) -> str:
    """at_hash / c_hash: the left half of `value`'s hash under the hash of `alg`."""
    digest = _HALF_HASHES[alg](value.encode())
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


class TokenIssuer:
    def __init__(
        self,
        *,
        keys: KeyRing,
        artifacts: Artifacts,
        accounts: Accounts,
        issuer: str,
        subject_salt: str,
        access_ttl: int,
        id_ttl: int,
    ) -> None:
        self.keys = keys
        self.artifacts = artifacts
        self.accounts = accounts
        self.issuer = issuer
        self.salt = subject_salt
        self.access_ttl = access_ttl
        self.id_ttl = id_ttl

    def subject(self, person_id: str, client: Client) -> str:
        return subject_for(person_id, client, self.salt)

    def session_id(self, sso_id: str, client: Client) -> str:
        return session_for(sso_id, client, self.salt)

    # -- Authlib token generator -----------------------------------------------------------
    def __call__(
        self,
        *,
        grant_type: str,
        client: Client,
        user: Authorization | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        # Only scopes the client is registered for, whatever a grant passes on: a token
        # never says more than the client may have.
        scope = client.get_allowed_scope(scope)
        now = int(time.time())
        ttl = expires_in or self.access_ttl
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "iat": now,
            "exp": now + ttl,
            "jti": secrets.token_urlsafe(16),
            "client_id": client.client_id,
            # the client, and the resource servers registered to take its tokens
            "aud": [client.client_id, *client.resource_servers]
            if client.resource_servers
            else client.client_id,
            "scope": scope,
        }
        if user is not None:
            claims.update(
                sub=self.subject(user.person_id, client),
                auth_time=user.auth_time,
                acr=user.acr,
                amr=user.amr,
                gid=user.grant_id,
            )
            if user.sid:
                claims["sid"] = self.session_id(user.sid, client)
        else:
            claims["sub"] = client.client_id
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": self.keys.sign(
                claims, alg=client.access_token_signed_alg, typ=ACCESS_TOKEN_TYP
            ),
            "expires_in": ttl,
            "scope": scope,
        }
        if user is not None and include_refresh_token and "offline_access" in scope.split():
            token["refresh_token"] = self.artifacts.issue_refresh_token(
                user.grant_id, client.client_id, scope, user.grant_exp
            )
        return token

    # -- ID tokens -------------------------------------------------------------------------
    def id_token(
        self, client: Client, user: Authorization, token: dict[str, Any], session: Session
    ) -> str:
        """The ID token of a token response; claims asked for in it are read through
        `session` (the token request's)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject(user.person_id, client),
            "aud": client.client_id,
            "azp": client.client_id,
            "iat": now,
            "exp": now + self.id_ttl,
            "auth_time": user.auth_time,
            "acr": user.acr,
            "amr": user.amr,
        }
        if user.sid:
            claims["sid"] = self.session_id(user.sid, client)
        if user.nonce:
            claims["nonce"] = user.nonce
        if token.get("access_token"):
            claims["at_hash"] = half_hash(
                token["access_token"], client.id_token_signed_response_alg
            )
        requested = (user.claims or {}).get("id_token")
        acting = user.act_for and "org" in str(token.get("scope", "")).split()
        if requested or acting:  # claims asked for in the ID token itself (OIDC Core 5.5)
            person = session.get(Person, user.person_id)
            if person is not None:
                names = released_claims("org" if acting else "", requested, client.scopes)
                claims.update(person_claims(person, self.accounts, names))
                claims.update(org_claims(session, person, user.act_for, names))
        return self.keys.sign(claims, alg=client.id_token_signed_response_alg)

    # -- checking access tokens ------------------------------------------------------------
    def validate_access_token(self, token: str) -> dict[str, Any]:
        """The claims of a live access token; raises InvalidTokenError otherwise."""
        return self.check_access_token(token)[0]

    def check_access_token(self, token: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The claims of a live access token and its grant (None for a client's own token);
        raises InvalidTokenError otherwise."""
        claims = self.keys.verify(token, algs=ACCESS_TOKEN_ALGS, typ=ACCESS_TOKEN_TYP)
        if claims.get("iss") != self.issuer:
            raise InvalidTokenError("wrong issuer")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            raise InvalidTokenError("expired")
        grant_id = claims.get("gid")
        revoked, grant = self.artifacts.access_token_state(str(claims.get("jti")), grant_id)
        if revoked:
            raise InvalidTokenError("revoked")
        if grant_id and grant is None:
            raise InvalidTokenError("grant revoked")
        return claims, grant
