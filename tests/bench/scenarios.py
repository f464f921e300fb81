"""What one virtual user does, once per operation, for each scenario.

A scenario is described by a plain dict (it crosses into the load processes):
`{"name", "kind", "host", "port", ...}`. `kind` picks the class below:

- `fixed`: the same pre-encoded request every time (discovery, JWKS, client credentials,
  introspection, userinfo); checks the status and, optionally, a fragment of the body.
- `refresh`: each virtual user holds its own refresh-token chain and always sends the
  newest token (refresh tokens rotate; a reused one revokes the family).
- `signin`: a full authorization-code sign-in from a fresh browser: GET /authorize with
  PKCE -> GET /login (form, CSRF) -> POST /login -> code (through GET
  /authorize/resume/... when the provider still has a page to show) -> POST /token. One
  operation is one sign-in (four HTTP requests, or five).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.bench.client import Connection, RequestBuilder, basic_auth

CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')


class VirtualUser:
    broken = False  # True: this user cannot go on (e.g. its refresh chain was revoked)

    async def step(self, conn: Connection) -> str | None:
        """One operation; None when it succeeded, else what went wrong."""
        raise NotImplementedError


class Scenario:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.http = RequestBuilder(spec["host"], spec["port"])

    def virtual_user(self, index: int) -> VirtualUser:
        raise NotImplementedError

    def state(self) -> dict[int, Any]:
        """What the next run must continue from (per virtual user)."""
        return {}

    def extra(self) -> dict[str, int]:
        """Counters added to the scenario's line (summed over processes)."""
        return {}


# -- the same request every time --------------------------------------------------------
class _FixedUser(VirtualUser):
    def __init__(self, raw: bytes, status: int, expect: bytes | None) -> None:
        self.raw, self.status, self.expect = raw, status, expect

    async def step(self, conn: Connection) -> str | None:
        response = await conn.request(self.raw)
        if response.status != self.status:
            return f"HTTP {response.status}: {response.body[:200]!r}"
        if self.expect is not None and self.expect not in response.body:
            return f"unexpected body: {response.body[:200]!r}"
        return None


class Fixed(Scenario):
    """spec: method, path, [form], [headers], [status=200], [expect (str)]."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__(spec)
        self.raw = self.http.build(
            spec.get("method", "GET"),
            spec["path"],
            form=spec.get("form"),
            headers=spec.get("headers"),
        )
        expect = spec.get("expect")
        self.user = _FixedUser(
            self.raw, spec.get("status", 200), expect.encode() if expect else None
        )

    def virtual_user(self, index: int) -> VirtualUser:
        return self.user


# -- refresh-token chains ---------------------------------------------------------------
class _RefreshUser(VirtualUser):
    def __init__(self, scenario: Refresh, index: int) -> None:
        self.scenario, self.index = scenario, index

    async def step(self, conn: Connection) -> str | None:
        s = self.scenario
        token = s.tokens.get(self.index)
        if token is None:
            self.broken = True
            return f"virtual user {self.index} has no refresh token"
        raw = s.http.build(
            "POST",
            "/token",
            form={"grant_type": "refresh_token", "refresh_token": token},
            headers={"Authorization": s.auth},
        )
        response = await conn.request(raw)
        if response.status != 200:
            self.broken = True  # the token may have been spent: the chain cannot go on
            s.tokens.pop(self.index, None)
            return f"HTTP {response.status}: {response.body[:200]!r}"
        body = json.loads(response.body)
        if "access_token" not in body or "refresh_token" not in body:
            self.broken = True
            return f"no tokens in {response.body[:200]!r}"
        if s.want_id_token and "id_token" not in body:
            return "no id_token in the refresh response"
        s.tokens[self.index] = body["refresh_token"]
        return None


class Refresh(Scenario):
    """spec: client_id, client_secret, tokens (one per virtual user), want_id_token."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__(spec)
        self.auth = basic_auth(spec["client_id"], spec["client_secret"])
        self.tokens: dict[int, str] = dict(enumerate(spec["tokens"]))
        self.want_id_token = spec.get("want_id_token", True)
        self.used: set[int] = set()

    def virtual_user(self, index: int) -> VirtualUser:
        self.used.add(index)
        return _RefreshUser(self, index)

    def state(self) -> dict[int, Any]:
        return {i: self.tokens.get(i) for i in self.used}


# -- full sign-in -----------------------------------------------------------------------
def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def sign_in(
    conn: Connection, http: RequestBuilder, spec: dict[str, Any]
) -> tuple[dict[str, Any] | None, str | None, int]:
    """One authorization-code sign-in from a fresh browser. Returns (token response,
    problem, HTTP requests made)."""
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": spec["client_id"],
            "redirect_uri": spec["redirect_uri"],
            "scope": spec["scope"],
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    cookies: dict[str, str] = {}
    r = await conn.request(http.build("GET", f"/authorize?{query}"))
    if r.status not in (302, 303) or not r.location.startswith("/login"):
        return None, f"/authorize: HTTP {r.status} {r.location or r.body[:200]!r}", 1
    login_url = r.location
    r = await conn.request(http.build("GET", login_url))
    cookies.update(r.cookies())
    found = CSRF.search(r.body)
    if r.status != 200 or not found:
        return None, f"/login form: HTTP {r.status}, csrf token found: {bool(found)}", 2
    form = {
        "username": spec["username"],
        "password": spec["password"],
        "csrf_token": found.group(1).decode(),
        "txn": _query(login_url).get("txn", ""),
    }
    r = await conn.request(http.build("POST", "/login", form=form, cookies=cookies))
    cookies.update(r.cookies())
    requests = 3
    if r.status == 303 and r.location.startswith("/signin/"):  # a step still to show
        r = await conn.request(http.build("GET", r.location, cookies=cookies))
        requests += 1
    redirect = r.location
    if r.status not in (302, 303) or not redirect.startswith(urlsplit(spec["redirect_uri"]).path):
        return None, f"back to the RP: HTTP {r.status} -> {redirect or r.body[:200]!r}", requests
    params = _query(r.header(b"location") or "")
    if params.get("state") != state or "code" not in params:
        return None, f"redirect without code/state: {params}", requests
    form = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": spec["redirect_uri"],
        "code_verifier": verifier,
    }
    headers = {"Authorization": basic_auth(spec["client_id"], spec["client_secret"])}
    r = await conn.request(http.build("POST", "/token", form=form, headers=headers))
    if r.status != 200:
        return None, f"POST /token: HTTP {r.status} {r.body[:200]!r}", requests + 1
    body = json.loads(r.body)
    if "id_token" not in body or "access_token" not in body:
        return None, f"token response without id_token: {r.body[:200]!r}", requests + 1
    return body, None, requests + 1


class _SignInUser(VirtualUser):
    def __init__(self, scenario: SignInScenario) -> None:
        self.scenario = scenario

    async def step(self, conn: Connection) -> str | None:
        s = self.scenario
        conn.close()  # a fresh browser: a new connection as well as no cookies
        tokens, problem, count = await sign_in(conn, s.http, s.spec)
        s.http_requests += count
        if tokens is not None and s.keep:
            s.collected.append(tokens)
        return problem


class SignInScenario(Scenario):
    """spec: client_id, client_secret, redirect_uri, scope, username, password, [keep]."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__(spec)
        self.http_requests = 0
        self.keep = spec.get("keep", False)
        self.collected: list[dict[str, Any]] = []

    def virtual_user(self, index: int) -> VirtualUser:
        return _SignInUser(self)

    def extra(self) -> dict[str, int]:
        return {"http_requests": self.http_requests}


KINDS: dict[str, type[Scenario]] = {"fixed": Fixed, "refresh": Refresh, "signin": SignInScenario}


def build_scenario(spec: dict[str, Any]) -> Scenario:
    return KINDS[spec["kind"]](spec)
