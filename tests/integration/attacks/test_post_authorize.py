"""The authorization request sent with POST (OIDC Core 3.1.2.1: the authorization endpoint
MUST support GET and POST), over HTTP: an RP's auto-submitted form works exactly as the
same request as a link: same validation, same refusal of a repeated parameter, the same
sign-in and consent afterwards; and the consent form that follows keeps its CSRF check."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.integration.attacks.conftest import (
    Browser,
    Live,
    Rp,
    authorize_query,
    form_of,
    pkce,
    query_of,
    redeem,
)


@pytest.fixture(scope="module")
def rp(live: Live) -> Rp:
    return live.client()


def request_for(rp: Rp, **params: str) -> dict[str, str]:
    return authorize_query(
        rp, **{"scope": "openid profile", "state": "st-post", "nonce": "n-post", **params}
    )


def finish(browser: Browser, response: requests.Response) -> requests.Response:
    """Answer the provider's pages (sign-in, consent) until it sends the browser away."""
    live = browser.live
    for _ in range(8):
        location = response.headers.get("Location", "")
        if response.is_redirect and not location.startswith(("/", live.url)):
            return response
        if response.is_redirect:
            target = urljoin(live.url + "/", location)
            if urlsplit(target).path == "/login":
                assert browser.person is not None
                response = browser.post(
                    "/login",
                    {
                        "username": browser.person["username"],
                        "password": browser.person["password"],
                        "csrf_token": browser.csrf(target),
                        "txn": query_of(target).get("txn", ""),
                    },
                )
            else:
                response = browser.get(target)
            continue
        browser.pages.append(response.text)
        if response.status_code == 200 and 'name="decision"' in response.text:
            action, hidden = form_of(response.text)
            response = browser.post(action, {**hidden, "decision": "allow"})
            continue
        return response
    raise AssertionError("the authorization did not finish")


def post_authorize(browser: Browser, data: Any, query: str = "") -> requests.Response:
    """What an RP's auto-submitting form does: a form POST, no CSRF token of ours."""
    return browser.post("/authorize" + query, data=data)


def test_a_posted_request_signs_in_asks_consent_and_returns_a_code(live, rp):
    browser = live.browser(live.person())
    verifier, challenge = pkce()
    data = request_for(rp, code_challenge=challenge, code_challenge_method="S256")
    response = finish(browser, post_authorize(browser, data))
    assert response.headers["Location"].startswith(rp.redirect_uri)
    answer = query_of(response.headers["Location"])
    assert answer["state"] == "st-post" and answer["iss"] == live.url
    assert any('name="decision"' in page for page in browser.pages)  # consent was asked
    tokens = redeem(live, rp, answer["code"], verifier).json()
    assert "id_token" in tokens


def test_a_posted_request_uses_the_single_sign_on_session(live, rp):
    browser = live.browser(live.person())
    browser.code_for(rp, scope="openid profile")  # signed in, consent given
    verifier, challenge = pkce()
    data = request_for(rp, prompt="none", code_challenge=challenge, code_challenge_method="S256")
    response = finish(browser, post_authorize(browser, data))
    answer = query_of(response.headers["Location"])
    assert "code" in answer, answer
    assert redeem(live, rp, answer["code"], verifier).status_code == 200


@pytest.mark.parametrize("where", ["body", "query and body"])
def test_a_repeated_parameter_in_a_posted_request_is_refused(live, rp, where):
    browser = live.browser(live.person())
    _verifier, challenge = pkce()
    data = list(request_for(rp, code_challenge=challenge, code_challenge_method="S256").items())
    query = ""
    if where == "body":
        data.append(("scope", "openid phone"))
    else:
        query = "?scope=openid+phone"
    response = finish(browser, post_authorize(browser, data, query))
    location = response.headers.get("Location", "")
    assert location.startswith(rp.redirect_uri), response.text[:300]
    answer = query_of(location)
    assert answer["error"] == "invalid_request" and "scope" in answer["error_description"]
    assert answer["state"] == "st-post"


def test_a_posted_request_with_an_unregistered_redirect_uri_is_an_error_page(live, rp):
    browser = live.browser(live.person())
    data = request_for(rp, redirect_uri="https://attacker.example/cb")
    response = finish(browser, post_authorize(browser, data))
    assert response.status_code == 400
    assert "attacker.example" not in response.headers.get("Location", "")


def test_a_posted_request_without_a_client_is_an_error_page(live):
    browser = live.browser()
    response = finish(browser, post_authorize(browser, {"response_type": "code"}))
    assert response.status_code == 400 and "Location" not in response.headers


def test_the_consent_form_after_a_posted_request_still_needs_its_csrf_token(live, rp):
    browser = live.browser(live.person())
    _verifier, challenge = pkce()
    data = request_for(rp, scope="openid phone", code_challenge=challenge)
    data["code_challenge_method"] = "S256"
    response = post_authorize(browser, data)
    for _ in range(8):  # up to the consent page
        if not response.is_redirect:
            break
        location = urljoin(live.url + "/", response.headers["Location"])
        if urlsplit(location).path == "/login":
            assert browser.person is not None
            response = browser.post(
                "/login",
                {
                    "username": browser.person["username"],
                    "password": browser.person["password"],
                    "csrf_token": browser.csrf(location),
                    "txn": query_of(location).get("txn", ""),
                },
            )
        else:
            response = browser.get(location)
    assert 'name="decision"' in response.text
    action, hidden = form_of(response.text)
    hidden.pop("csrf_token", None)
    forged = browser.post(action, {**hidden, "decision": "allow"})
    assert forged.status_code == 400
    assert "Location" not in forged.headers
