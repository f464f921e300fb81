"""Hostile authorization requests that used to crash the provider (issue 11, item 11):
each is `invalid_request` back at the RP, with state and iss, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.integration.attacks.conftest import Live, authorize_query, query_of

HOSTILE = {
    "claims nested 1,500 deep": {"claims": "[" * 1500},
    "claims nested objects": {"claims": '{"userinfo":' * 1200 + "{}" + "}" * 1200},
    "claims far too long": {
        "claims": json.dumps({"userinfo": {f"c{i}": None for i in range(900)}})
    },
    "acr values a number": {"claims": json.dumps({"id_token": {"acr": {"values": 3}}})},
    "acr values not strings": {"claims": json.dumps({"id_token": {"acr": {"values": [3]}}})},
    "essential a string": {"claims": json.dumps({"id_token": {"acr": {"essential": "yes"}}})},
    "value an object": {"claims": json.dumps({"userinfo": {"name": {"value": {}}}})},
    "max_age superscript two": {"max_age": "²"},
    "max_age Arabic-Indic digits": {"max_age": "٣٠"},
    "max_age 5,000 digits": {"max_age": "9" * 5000},
    "max_age negative": {"max_age": "-1"},
}


@pytest.mark.parametrize("extra", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_authorization_requests_are_invalid_request(live: Live, extra) -> None:
    rp = live.client()
    answer = live.get("/authorize", params=authorize_query(rp, state="st-hostile", **extra))
    assert answer.status_code == 303, answer.text[:300]
    q = query_of(answer.headers["Location"])
    assert answer.headers["Location"].startswith(rp.redirect_uri)
    assert q["error"] == "invalid_request" and q["state"] == "st-hostile" and q["iss"] == live.url


def test_essential_acr_through_claims_is_honoured(live: Live) -> None:
    """The well-formed counterpart: an essential loa:3 through `claims` is not silently
    dropped for a password-only (loa:2) person; without prompt=none they would be asked
    to prove more, with it the RP hears why."""
    person = live.person()
    rp = live.client()
    browser = live.browser(person)
    assert browser.sign_in().status_code == 303
    wanted = {"id_token": {"acr": {"essential": True, "values": ["urn:cn:gov:idp:loa:3"]}}}
    query = authorize_query(rp, prompt="none", claims=json.dumps(wanted))
    answer = browser.get("/authorize", params=query)
    q = query_of(answer.headers["Location"])
    assert "code" not in q and q["error"] in ("login_required", "unmet_authentication_requirements")
