"""Authorization-code sign-ins at node oidc-provider (tests/bench/node/server.mjs), for
the refresh tokens its `refresh` scenario starts from, and an opaque access token for its
`introspection` scenario. Set-up only: plain urllib, one sign-in after another.

The bench server finishes each interaction without a page (/bench-interaction/:uid logs
in and consents at once), so a sign-in is GET /auth -> interaction -> /auth/:uid ->
the client's redirect_uri with a code -> POST /token. The interaction cookies carry the
state between those redirects."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from tests.bench.client import basic_auth
from tests.bench.scenarios import pkce_pair

# the web client of server.mjs (kept in step with its WEB constant)
WEB_CLIENT_ID = "bench-node-web"
WEB_CLIENT_SECRET = "bench-node-web-secret-0123456789abcdefghijkl"
WEB_REDIRECT = "http://127.0.0.1:1/cb"
OPAQUE_RESOURCE = "urn:bench:opaque"  # oidc-provider refuses to introspect JWTs
MAX_REDIRECTS = 8


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # each Location is followed by hand (the last one is the client's)


def _post(url: str, form: dict[str, str], auth: str) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=urlencode(form).encode(), headers={"Authorization": auth}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def sign_in(base: str) -> dict[str, Any]:
    """One sign-in with PKCE S256 and prompt=consent (oidc-provider drops offline_access
    without it); the token response. Raises RuntimeError on anything unexpected."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
    )
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": WEB_CLIENT_ID,
            "redirect_uri": WEB_REDIRECT,
            "scope": "openid offline_access",
            "prompt": "consent",
            "state": state,
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    url = f"{base}/auth?{query}"
    for _ in range(MAX_REDIRECTS):
        if url.startswith(WEB_REDIRECT):
            break
        try:
            with opener.open(url, timeout=10) as response:
                body = response.read()[:200]
                raise RuntimeError(f"GET {urlsplit(url).path}: HTTP {response.status} {body!r}")
        except urllib.error.HTTPError as exc:  # a 3xx not followed lands here
            if exc.code not in (302, 303) or not exc.headers.get("Location"):
                raise RuntimeError(
                    f"GET {urlsplit(url).path}: HTTP {exc.code} {exc.read()[:200]!r}"
                ) from None
            url = urljoin(url, exc.headers["Location"])
    else:
        raise RuntimeError(f"no redirect to the client after {MAX_REDIRECTS} hops")
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    if params.get("state") != state or "code" not in params:
        raise RuntimeError(f"redirect without code/state: {params}")
    form = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": WEB_REDIRECT,
        "code_verifier": verifier,
    }
    tokens = _post(f"{base}/token", form, basic_auth(WEB_CLIENT_ID, WEB_CLIENT_SECRET))
    missing = {"id_token", "access_token", "refresh_token"} - set(tokens)
    if missing:
        raise RuntimeError(f"token response without {', '.join(sorted(missing))}")
    return tokens


def refresh_tokens(base: str, count: int) -> list[str]:
    """`count` refresh tokens, one per sign-in (one chain each)."""
    return [sign_in(base)["refresh_token"] for _ in range(count)]


def opaque_access_token(base: str, auth: str) -> str:
    """A client-credentials access token node can introspect (stored, not a JWT)."""
    form = {"grant_type": "client_credentials", "scope": "api", "resource": OPAQUE_RESOURCE}
    token = str(_post(f"{base}/token", form, auth)["access_token"])
    if token.count(".") == 2:
        raise RuntimeError("node issued a JWT for the opaque resource")
    return token
