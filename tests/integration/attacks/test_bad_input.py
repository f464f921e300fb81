"""Input PostgreSQL cannot hold, and bodies or methods the protocol endpoints do not take,
sent over HTTP to `idp serve` on PostgreSQL: every answer is the protocol's own refusal
(OAuth JSON, the sign-in page's message, an error page), never a 500, and changes nothing.

psycopg refuses a NUL character in a text parameter; before the provider refused such
input itself, a NUL in a client_id or a username reached the database and came back as an
HTML 500 page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.integration.attacks.conftest import Live, Rp, authorize_query, pkce, query_of, redeem

NUL = "\x00"
IMPOSSIBLE_IDS = {
    "nul": "rp" + NUL + "x",
    "nul only": NUL,
    "control character": "rp\x01x",
    "too long": "r" * 65,
}
# each protocol endpoint with what it needs besides client authentication
ENDPOINTS = {
    "/token": {"grant_type": "client_credentials"},
    "/introspect": {"token": "x"},
    "/revoke": {"token": "x"},
}
# The pipeline (idp/oidc/machine) reads a plain form body cheaply; a query string sends the
# request through Werkzeug's full parser in the same code.
PATHS = {"plain form": "", "full parser": "?via=full-parser"}


def assert_oauth_error(response: requests.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    return body


@pytest.fixture(autouse=True)
def no_traceback(live: Live) -> Iterator[None]:
    """The server logs no unhandled error while a test runs."""
    seen = len(live.output())
    yield
    assert "Traceback" not in live.output()[seen:]


@pytest.fixture(scope="module")
def rp(live: Live) -> Rp:
    return live.client(grant_types=["authorization_code", "refresh_token", "client_credentials"])


# -- item 12: a client_id PostgreSQL cannot hold ----------------------------------------------
@pytest.mark.parametrize("path", list(ENDPOINTS))
@pytest.mark.parametrize("via", list(PATHS))
@pytest.mark.parametrize("client_id", list(IMPOSSIBLE_IDS.values()), ids=list(IMPOSSIBLE_IDS))
def test_an_impossible_client_id_in_basic_is_invalid_client(live, path, via, client_id):
    response = live.post(path + PATHS[via], data=ENDPOINTS[path], auth=(client_id, "secret"))
    assert_oauth_error(response, 401, "invalid_client")


@pytest.mark.parametrize("path", list(ENDPOINTS))
@pytest.mark.parametrize("via", list(PATHS))
@pytest.mark.parametrize("client_id", list(IMPOSSIBLE_IDS.values()), ids=list(IMPOSSIBLE_IDS))
def test_an_impossible_client_id_in_the_body_is_invalid_client(live, path, via, client_id):
    data = {**ENDPOINTS[path], "client_id": client_id, "client_secret": "secret"}
    response = live.post(path + PATHS[via], data=data)
    assert_oauth_error(response, 400, "invalid_client")  # 401: for an Authorization header


@pytest.mark.parametrize("client_id", list(IMPOSSIBLE_IDS.values()), ids=list(IMPOSSIBLE_IDS))
def test_an_impossible_client_id_at_authorize_is_an_error_page(live, client_id):
    response = live.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": "https://attacker.example/cb",
            "scope": "openid",
            "state": "s",
        },
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Location" not in response.headers  # never to an unverified redirect_uri


@pytest.mark.parametrize("client_id", list(IMPOSSIBLE_IDS.values()), ids=list(IMPOSSIBLE_IDS))
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_impossible_client_id_at_end_session_is_an_error_page(live, client_id, method):
    browser = live.browser(live.person())
    browser.sign_in()
    params = {"client_id": client_id, "post_logout_redirect_uri": "https://attacker.example/"}
    if method == "GET":
        response = browser.get("/end_session", params=params)
    else:
        response = browser.post("/end_session", data=params)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Location" not in response.headers
    assert browser.get("/account").status_code == 200  # still signed in


def test_a_nul_in_any_authorization_parameter_is_refused_not_a_500(live, rp):
    """A signed-in person's browser carries NUL in each parameter in turn: each answer is
    an error page or an error sent to the registered redirect URI, never a 500."""
    browser = live.browser(live.person())
    _verifier, challenge = pkce()
    base = authorize_query(
        rp, state="s", nonce="n", code_challenge=challenge, code_challenge_method="S256"
    )
    extra = ("login_hint", "acr_values", "claims", "prompt", "max_age", "ui_locales")
    for name in (*base, *extra):
        response = browser.authorize(rp, **{**base, name: base.get(name, "x") + NUL})
        assert response.status_code < 500, (name, response.text[:300])
        location = response.headers.get("Location", "")
        assert not location or location.startswith((rp.redirect_uri, "/")), (name, location)
        if location.startswith(rp.redirect_uri):
            answer = query_of(location)
            assert "code" in answer or "error" in answer, (name, answer)


@pytest.mark.parametrize(
    "field", ["code", "redirect_uri", "code_verifier", "grant_type", "scope", "refresh_token"]
)
def test_a_nul_in_any_token_parameter_is_an_oauth_error(live, rp, field):
    browser = live.browser(live.person())
    code, verifier = browser.code_for(rp, scope="openid offline_access")
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
    }
    if field == "refresh_token":
        data = {"grant_type": "refresh_token", "refresh_token": "r" + NUL}
    else:
        data[field] = data.get(field, "openid") + NUL
    response = live.post("/token", data=data, auth=rp.basic)
    assert response.headers["Content-Type"].startswith("application/json")
    if field == "scope":  # not a parameter of the code exchange: ignored
        assert response.status_code == 200, response.text[:300]
    else:
        assert 400 <= response.status_code < 500, response.text[:300]


# -- item 12: a username PostgreSQL cannot hold ------------------------------------------------
@pytest.mark.parametrize("username", ["ali" + NUL + "ce", NUL, "1101" + NUL + "01199003071234"])
def test_a_nul_in_the_username_is_a_wrong_account_or_password(live, username):
    person = live.person()
    browser = live.browser(person)
    response = browser.sign_in(username=username, password=person["password"])
    assert response.status_code == 303, response.text[:300]
    page = browser.get(response.headers["Location"])
    assert page.status_code == 200
    assert "账号或密码错误" in page.text
    assert browser.get("/account").status_code == 303  # nobody signed in


# -- item 13: bodies, methods and failures the protocol endpoints answer in OAuth JSON --------
@pytest.mark.parametrize("path", [*ENDPOINTS, "/userinfo"])
def test_a_body_over_the_limit_is_invalid_request_json(live, rp, path):
    big = {**ENDPOINTS.get(path, {}), "padding": "x" * (1024 * 1024 + 1)}
    response = live.post(path, data=big, auth=rp.basic)
    body = assert_oauth_error(response, 413, "invalid_request")
    assert body["error_description"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/token"), ("GET", "/introspect"), ("GET", "/revoke"), ("PUT", "/userinfo")],
)
def test_a_method_not_allowed_is_invalid_request_json(live, method, path):
    response = requests.request(method, live.url + path, timeout=10, allow_redirects=False)
    body = assert_oauth_error(response, 405, "invalid_request")
    assert body["error_description"]
    assert "POST" in response.headers["Allow"]


def test_a_body_over_the_limit_changes_nothing(live, rp):
    browser = live.browser(live.person())
    code, verifier = browser.code_for(rp)
    refused = live.post(
        "/token",
        data={"grant_type": "authorization_code", "code": code, "padding": "x" * 2**21},
        auth=rp.basic,
    )
    assert refused.status_code == 413
    assert redeem(live, rp, code, verifier).status_code == 200  # the code is still good


# -- the same class: input Authlib quotes in an error it then refuses to build --------------
@pytest.mark.parametrize("bad", ['"', "\\", "é", NUL], ids=["quote", "backslash", "accent", "nul"])
@pytest.mark.parametrize("name", ["response_type", "redirect_uri"])
def test_a_character_no_error_may_quote_is_refused_not_a_500(live, rp, name, bad):
    params = authorize_query(rp, state="s")
    params[name] += bad
    response = live.get("/authorize", params=params)
    location = response.headers.get("Location", "")
    if name == "redirect_uri":  # not the registered one: an error page, no redirect
        assert response.status_code == 400 and not location, response.text[:300]
    else:  # a good redirect URI: the error goes back to it
        assert location.startswith(rp.redirect_uri), (response.status_code, response.text[:300])
        assert query_of(location)["error"] == "invalid_request"
