"""A parameter sent twice to the token, introspection, revocation or userinfo endpoint, over
HTTP: RFC 6749 3.1 and 3.2 say request parameters MUST NOT be included more than once, so
each such request is `invalid_request` naming the parameter, whether the pipeline reads
the form cheaply or with its full parser (a query string), and changes nothing (a code
is still good, a refresh token not spent).

A parameter in the query string and again in the body counts as sent twice: Authlib reads
both as one set of parameters, so either copy could otherwise be the one it uses.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.integration.attacks.conftest import Live, Rp, redeem

FLASK = "?via=full-parser"  # a query string: the pipeline's full form parser reads it


def refused(response: requests.Response, parameter: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == "invalid_request", body
    assert parameter in body["error_description"], body


@pytest.fixture(scope="module")
def rp(live: Live) -> Rp:
    return live.client(grant_types=["authorization_code", "refresh_token", "client_credentials"])


@pytest.fixture
def code(live: Live, rp: Rp) -> tuple[str, str]:
    return live.browser(live.person()).code_for(rp, scope="openid offline_access")


@pytest.fixture
def tokens(live: Live, rp: Rp, code: tuple[str, str]) -> dict[str, str]:
    response = redeem(live, rp, *code)
    assert response.status_code == 200
    return dict(response.json())


def introspect(live: Live, rp: Rp, token: str) -> dict[str, Any]:
    return dict(live.post("/introspect", data={"token": token}, auth=rp.basic).json())


# -- /token, authorization_code -----------------------------------------------------------
@pytest.mark.parametrize(
    "parameter", ["redirect_uri", "grant_type", "code", "code_verifier", "client_id"]
)
def test_a_repeated_code_request_parameter_is_refused(live, rp, code, parameter):
    value, verifier = code
    pairs = [
        ("grant_type", "authorization_code"),
        ("code", value),
        ("redirect_uri", rp.redirect_uri),
        ("code_verifier", verifier),
        ("client_id", rp.client_id),
    ]
    bogus = {
        "redirect_uri": "https://attacker.example/cb",
        "grant_type": "authorization_code",
        "code": "bogus",
        "code_verifier": "bogus" * 10,
        "client_id": rp.client_id,
    }
    response = live.post("/token", data=[*pairs, (parameter, bogus[parameter])], auth=rp.basic)
    refused(response, parameter)
    assert redeem(live, rp, value, verifier).status_code == 200  # the code was not spent


def test_a_parameter_in_the_query_and_the_body_is_refused(live, rp, code):
    value, verifier = code
    data = {
        "grant_type": "authorization_code",
        "code": value,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
    }
    response = live.post(
        "/token?redirect_uri=https%3A%2F%2Fattacker.example%2Fcb", data=data, auth=rp.basic
    )
    refused(response, "redirect_uri")
    assert redeem(live, rp, value, verifier).status_code == 200


# -- /token, refresh_token and client_credentials ---------------------------------------------
@pytest.mark.parametrize("via", ["", FLASK])
@pytest.mark.parametrize("parameter", ["refresh_token", "grant_type", "scope"])
def test_a_repeated_refresh_parameter_is_refused_on_both_paths(live, rp, tokens, via, parameter):
    pairs = [("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"])]
    extra = {"refresh_token": "bogus", "grant_type": "refresh_token", "scope": "openid"}
    if parameter == "scope":
        pairs.append(("scope", "openid offline_access"))
    response = live.post(
        "/token" + via, data=[*pairs, (parameter, extra[parameter])], auth=rp.basic
    )
    refused(response, parameter)
    assert introspect(live, rp, tokens["refresh_token"])["active"] is True  # not rotated


@pytest.mark.parametrize("via", ["", FLASK])
def test_a_repeated_client_credentials_parameter_is_refused(live, rp, via):
    pairs = [("grant_type", "client_credentials"), ("scope", "openid"), ("scope", "profile")]
    refused(live.post("/token" + via, data=pairs, auth=rp.basic), "scope")


@pytest.mark.parametrize("via", ["", FLASK])
def test_client_credentials_in_the_body_twice_are_refused(live, rp, via):
    pairs = [
        ("grant_type", "client_credentials"),
        ("client_id", rp.client_id),
        ("client_secret", rp.secret or ""),
        ("client_secret", "wrong"),
    ]
    refused(live.post("/token" + via, data=pairs), "client_secret")


# -- /introspect and /revoke --------------------------------------------------------------
@pytest.mark.parametrize("via", ["", FLASK])
@pytest.mark.parametrize("parameter", ["token", "token_type_hint"])
def test_a_repeated_introspection_parameter_is_refused(live, rp, tokens, via, parameter):
    pairs = [("token", tokens["access_token"]), (parameter, "x"), (parameter, "y")]
    if parameter == "token":
        pairs = [("token", tokens["access_token"]), ("token", "x")]
    refused(live.post("/introspect" + via, data=pairs, auth=rp.basic), parameter)


@pytest.mark.parametrize("parameter", ["token", "token_type_hint"])
def test_a_repeated_revocation_parameter_is_refused_and_revokes_nothing(
    live, rp, tokens, parameter
):
    pairs = [("token", tokens["refresh_token"]), ("token_type_hint", "refresh_token")]
    pairs.append((parameter, "x"))
    refused(live.post("/revoke", data=pairs, auth=rp.basic), parameter)
    assert introspect(live, rp, tokens["refresh_token"])["active"] is True
    assert introspect(live, rp, tokens["access_token"])["active"] is True


# -- /userinfo: the access token once, by one method (RFC 6750 2) --------------------------
def test_an_access_token_in_the_header_and_the_body_is_refused(live, tokens):
    response = live.post(
        "/userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        data={"access_token": tokens["access_token"]},
    )
    refused(response, "access_token")


def test_an_access_token_twice_in_the_body_is_refused(live, tokens):
    pairs = [("access_token", tokens["access_token"]), ("access_token", "bogus")]
    refused(live.post("/userinfo", data=pairs), "access_token")
