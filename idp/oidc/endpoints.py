"""Protocol endpoints relying parties call through Flask: discovery, JWKS, userinfo.
Errors are OAuth JSON (RFC 6750 3). The token, introspection and revocation endpoints
are the machine-to-machine pipeline's (idp/oidc/machine)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, request

from idp import context
from idp.accounts.models import Person
from idp.crypto.sm2 import DEFAULT_SIGNER_ID
from idp.db import db
from idp.errors import DatabaseUnavailableError
from idp.headers import security_headers
from idp.keys import InvalidTokenError, KeyRing
from idp.oidc.claims import (
    ACR_VALUES,
    CLAIMS_SUPPORTED,
    SCOPES_SUPPORTED,
    org_claims,
    person_claims,
    released_claims,
)
from idp.oidc.clients import ID_TOKEN_ALGS
from idp.oidc.features import FEATURES, TOKEN_PATH, Features
from idp.oidc.runtime import oidc

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

bp = Blueprint("oidc", __name__)

JSON_TYPE = "application/json"


def discovery_document(issuer: str, features: Features = FEATURES) -> dict[str, Any]:
    """What the provider offers, the features (idp/oidc/features.py) that are on."""
    document: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}{TOKEN_PATH}",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "end_session_endpoint": f"{issuer}/end_session",
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": True,
        "frontchannel_logout_session_supported": True,  # iss and sid always sent
        **{endpoint.metadata: f"{issuer}{endpoint.path}" for endpoint in features.endpoints},
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(features.grant_types),
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGS),
        "userinfo_signing_alg_values_supported": list(ID_TOKEN_ALGS),
        # SM2SM3 (国密): the signer ID hashed into Z (GM/T 0009 default), since RPs differ
        "sm2_signer_id": DEFAULT_SIGNER_ID.decode("ascii"),
        "token_endpoint_auth_methods_supported": list(features.client_auth_methods),
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "acr_values_supported": ACR_VALUES,
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": ["zh-CN", "en"],
        "claim_types_supported": ["normal"],
    }
    for endpoint in features.endpoints:  # they take the token endpoint's methods
        if endpoint.auth_methods_metadata:
            document[endpoint.auth_methods_metadata] = list(features.client_auth_methods)
    if features.ciba:  # OpenID CIBA Core 4 (push is not offered; requests are not signed)
        document["backchannel_token_delivery_modes_supported"] = ["poll", "ping"]
        document["backchannel_user_code_parameter_supported"] = True
    return document


DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_HEADERS = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
# Short: RPs must see a rotated-in key soon, and refetch on an unknown kid anyway.
JWKS_HEADERS = {"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"}


@cache
def _discovery_bytes(issuer: str) -> bytes:
    return json.dumps(discovery_document(issuer), separators=(",", ":")).encode()


class PublishedDocuments:
    """WSGI middleware: GET discovery and JWKS answered from prebuilt bytes, before Flask.

    They are the provider's most requested documents and the same for everyone, so
    Flask's routing, hooks and response objects would cost more than the rest of the work.
    The answer is the one the views below give (they stay for HEAD, OPTIONS and 405s):
    same body, Content-Type, Cache-Control, CORS and security headers. The JWKS bytes come
    from the key ring's current snapshot, so a rotated key shows up as before.
    """

    def __init__(self, wsgi_app: WSGIApplication, *, issuer: str, keys: KeyRing, secure: bool):
        self.wsgi_app = wsgi_app
        self.keys = keys
        self.discovery = _discovery_bytes(issuer)
        self.extra = security_headers(secure)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET":
            path = environ.get("PATH_INFO")
            if path == DISCOVERY_PATH:
                return self._send(start_response, self.discovery, DISCOVERY_HEADERS)
            if path == JWKS_PATH:
                try:
                    body = self.keys.jwks_json()
                except DatabaseUnavailableError:  # no keys loaded yet: Flask's error page
                    return self.wsgi_app(environ, start_response)
                return self._send(start_response, body, JWKS_HEADERS)
        return self.wsgi_app(environ, start_response)

    def _send(
        self, start_response: StartResponse, body: bytes, headers: dict[str, str]
    ) -> list[bytes]:
        start_response(
            "200 OK",
            [
                ("Content-Type", JSON_TYPE),
                ("Content-Length", str(len(body))),
                *headers.items(),
                *self.extra,
            ],
        )
        return [body]


@bp.get(DISCOVERY_PATH)
def discovery() -> Response:
    return Response(_discovery_bytes(oidc().issuer), mimetype=JSON_TYPE, headers=DISCOVERY_HEADERS)


@bp.get(JWKS_PATH)
def jwks() -> Response:
    keys: KeyRing = current_app.extensions["idp.keys"]
    return Response(keys.jwks_json(), mimetype=JSON_TYPE, headers=JWKS_HEADERS)


def _bearer_error(status: int, error: str, description: str) -> Response:
    body = json.dumps({"error": error, "error_description": description})
    response = Response(body, status=status, mimetype=JSON_TYPE)
    response.headers["WWW-Authenticate"] = (
        f'Bearer realm="{oidc().issuer}", error="{error}", error_description="{description}"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _bearer_token() -> tuple[str | None, str | None]:
    """The access token (RFC 6750 2.1 header, 2.2 form body), or why the request is
    malformed: RFC 6750 2 allows one method per request, and a parameter once."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    in_header = value.strip() if scheme.lower() == "bearer" and value.strip() else None
    in_body: list[str] = []
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        in_body = request.form.getlist("access_token")
    if len(in_body) > 1:
        return None, "parameter access_token sent more than once"
    if in_header and in_body:
        return None, "access_token sent both in the Authorization header and in the body"
    return in_header or (in_body[0] if in_body else None), None


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    raw, malformed = _bearer_token()
    if malformed:
        return _bearer_error(400, "invalid_request", malformed)
    if not raw:
        return _bearer_error(401, "invalid_request", "a Bearer access token is required")
    runtime = oidc()
    try:
        claims, grant = runtime.tokens.check_access_token(raw)
    except InvalidTokenError as exc:
        return _bearer_error(401, "invalid_token", f"the access token is not valid ({exc})")
    if "openid" not in claims.get("scope", "").split() or "gid" not in claims:
        return _bearer_error(403, "insufficient_scope", "the token lacks the openid scope")
    client = runtime.clients.get(claims["client_id"])
    person = db.session.get(Person, grant["person_id"]) if grant else None
    if grant is None or client is None or person is None or not person.active:
        return _bearer_error(401, "invalid_token", "the grant behind this token has ended")
    requested = (grant.get("claims") or {}).get("userinfo")
    names = released_claims(claims["scope"], requested, client.scopes)
    body = {
        "sub": claims["sub"],
        **person_claims(person, context.accounts(), names),
        **org_claims(db.session, person, grant.get("act_for"), names),
    }
    if client.userinfo_signed_response_alg:  # OIDC Core 5.3.2: a JWT, iss and aud added
        signed = runtime.tokens.keys.sign(
            {**body, "iss": runtime.issuer, "aud": client.client_id},
            alg=client.userinfo_signed_response_alg,
        )
        response = Response(signed, mimetype="application/jwt")
    else:
        response = Response(json.dumps(body, ensure_ascii=False), mimetype=JSON_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response
