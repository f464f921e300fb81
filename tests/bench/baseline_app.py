"""The baseline: a minimal Flask app doing the same essential work per request as the
provider, with nothing else (no database, no Redis, no Authlib, no sessions).

Served by granian exactly as `idp serve --workers 2` serves the provider. The benchmark
reports the provider's rates as ratios against these, measured in the same run.

- POST /token, client_credentials: Basic auth checked against a SHA-256 digest, one ES256
  JWT signed with joserfc.
- POST /token, refresh_token: the same plus an ES256 ID token and a new random token.
- POST /introspect: Basic auth, one ES256 verification, a JSON answer.
- GET /userinfo: one ES256 verification of the Bearer token, a JSON answer.
- GET /.well-known/openid-configuration, /.well-known/jwks.json: JSON documents.
- POST /login: one argon2id verification (the provider's default parameters) and one
  ES256 signature: the floor of a password sign-in.

The signing key comes from BENCH_BASELINE_JWK so that both workers share it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from flask import Flask, Response, request
from joserfc import jwt
from joserfc.jwk import ECKey

ISSUER = os.environ.get("BENCH_BASELINE_ISSUER", "http://127.0.0.1")
CLIENT_ID = "baseline-client"
CLIENT_SECRET = "baseline-secret-0123456789abcdefghijklmnopqrstu"
SECRET_DIGEST = hashlib.sha256(CLIENT_SECRET.encode()).hexdigest()
PASSWORD = "lotus-pond-2026"
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)  # the provider's default
_PASSWORD_HASH = _HASHER.hash(PASSWORD)

_jwk = os.environ.get("BENCH_BASELINE_JWK")
KEY = ECKey.import_key(json.loads(_jwk)) if _jwk else ECKey.generate_key("P-256")
KID = "baseline-es256"
PUBLIC_JWKS = json.dumps({"keys": [{**KEY.as_dict(private=False), "kid": KID, "alg": "ES256"}]})
DISCOVERY = json.dumps(
    {
        "issuer": ISSUER,
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/.well-known/jwks.json",
        "userinfo_endpoint": f"{ISSUER}/userinfo",
        "introspection_endpoint": f"{ISSUER}/introspect",
        "grant_types_supported": ["client_credentials", "refresh_token"],
    },
    separators=(",", ":"),
).encode()
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

app = Flask(__name__)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=NO_STORE)


def _client_ok() -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return False
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return False
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return client_id == CLIENT_ID and hmac.compare_digest(digest, SECRET_DIGEST)


def _sign(claims: dict[str, Any], typ: str | None = None) -> str:
    header: dict[str, Any] = {"alg": "ES256", "kid": KID}
    if typ:
        header["typ"] = typ
    return jwt.encode(header, claims, KEY)


def _access_token(sub: str, scope: str) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": sub,
        "aud": CLIENT_ID,
        "client_id": CLIENT_ID,
        "iat": now,
        "exp": now + 600,
        "jti": secrets.token_urlsafe(16),
        "scope": scope,
    }
    return _sign(claims, "at+jwt")


def _verified(token: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(token, KEY, algorithms=["ES256"]).claims
    except ValueError:
        return None
    if claims.get("iss") != ISSUER or claims.get("exp", 0) <= time.time():
        return None
    return claims


@app.post("/token")
def token() -> Response:
    if not _client_ok():
        return _json({"error": "invalid_client"}, 401)
    grant = request.form.get("grant_type")
    if grant == "client_credentials":
        scope = request.form.get("scope", "")
        at = _access_token(CLIENT_ID, scope)
        return _json({"access_token": at, "token_type": "Bearer", "expires_in": 600})
    if grant == "refresh_token" and request.form.get("refresh_token"):
        at = _access_token("person", "openid offline_access")
        now = int(time.time())
        id_token = _sign(
            {"iss": ISSUER, "sub": "person", "aud": CLIENT_ID, "iat": now, "exp": now + 600}
        )
        return _json(
            {
                "access_token": at,
                "token_type": "Bearer",
                "expires_in": 600,
                "id_token": id_token,
                "refresh_token": secrets.token_urlsafe(32),
            }
        )
    return _json({"error": "unsupported_grant_type"}, 400)


@app.post("/introspect")
def introspect() -> Response:
    if not _client_ok():
        return _json({"error": "invalid_client"}, 401)
    claims = _verified(request.form.get("token", ""))
    if claims is None:
        return _json({"active": False})
    return _json({"active": True, **{k: claims[k] for k in ("sub", "scope", "exp", "iat")}})


@app.get("/userinfo")
def userinfo() -> Response:
    header = request.headers.get("Authorization", "")
    claims = _verified(header[7:]) if header.startswith("Bearer ") else None
    if claims is None:
        return _json({"error": "invalid_token"}, 401)
    return _json({"sub": claims["sub"], "name": "演示用户"})


@app.post("/login")
def login() -> Response:
    try:
        _HASHER.verify(_PASSWORD_HASH, request.form.get("password", ""))
    except VerifyMismatchError:
        return _json({"error": "bad credentials"}, 401)
    return _json({"id_token": _sign({"iss": ISSUER, "sub": "person"})})


@app.get("/.well-known/openid-configuration")
def discovery() -> Response:
    response = Response(DISCOVERY, mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@app.get("/.well-known/jwks.json")
def jwks() -> Response:
    response = Response(PUBLIC_JWKS, mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
