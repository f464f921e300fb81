"""A relying party tries to read more than the person consented to, or than it is
registered for (issue 11, items 1, 2 and 14): through the `claims` parameter, a scope it
is not registered for, or `org`. Over HTTP, against `idp serve` on PostgreSQL."""

from __future__ import annotations

import json
import re
from typing import Any

from idp import context
from idp.accounts.models import Person
from idp.db import db
from realname.legal_persons import register_organization
from tests.integration.attacks.conftest import (
    Browser,
    Live,
    authorize_query,
    jwt_claims,
    query_of,
)
from tests.integration.org_support import ACTIVE, create_person, rep_of

PHONE_AND_USERNAME = json.dumps(
    {
        "userinfo": {"phone_number": None, "preferred_username": None},
        "id_token": {"phone_number": None},
    }
)


def userinfo(live: Live, access_token: str) -> dict[str, Any]:
    answer = live.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def listed_claims(page: str) -> set[str]:
    """What a consent page says the service will receive (its data-claim items)."""
    return set(re.findall(r'data-claim="([^"]+)"', page))


def consent_pages(browser: Browser) -> list[str]:
    return [page for page in browser.pages if 'name="decision"' in page]


def test_claims_by_name_after_an_openid_only_consent_ask_again(live: Live) -> None:
    person = live.person()
    rp = live.client()
    browser = live.browser(person)
    browser.tokens_for(rp, scope="openid")  # the person consents to openid only

    tokens = browser.tokens_for(rp, scope="openid", claims=PHONE_AND_USERNAME)

    (page,) = consent_pages(browser)  # asked again, not sent straight back with a code
    assert listed_claims(page) == {"phone_number", "preferred_username"}
    assert jwt_claims(tokens["id_token"])["phone_number"] == "+86" + person["phone"]
    info = userinfo(live, tokens["access_token"])
    assert info["phone_number"] == "+86" + person["phone"]
    assert info["preferred_username"] == person["username"]
    # exactly what the page listed: nothing of profile, no verification flag
    assert set(info) == {"sub", "phone_number", "preferred_username"}


def test_declining_claims_asked_by_name_releases_nothing(live: Live) -> None:
    person = live.person()
    rp = live.client()
    browser = live.browser(person)
    browser.tokens_for(rp, scope="openid")

    back = browser.authorize(rp, scope="openid", claims=PHONE_AND_USERNAME, consent="deny")

    assert query_of(back.headers["Location"])["error"] == "access_denied"
    again = browser.tokens_for(rp, scope="openid")  # the old consent still covers openid
    assert consent_pages(browser) == []
    assert "phone_number" not in userinfo(live, again["access_token"])
    assert "phone_number" not in jwt_claims(again["id_token"])


def test_a_remembered_consent_covers_only_the_claims_it_listed(live: Live) -> None:
    person = live.person()
    rp = live.client()
    browser = live.browser(person)
    phone_only = json.dumps({"userinfo": {"phone_number": None}})
    browser.tokens_for(rp, scope="openid", claims=phone_only)
    (first,) = consent_pages(browser)
    assert listed_claims(first) == {"phone_number"}

    browser.tokens_for(rp, scope="openid", claims=phone_only)
    assert consent_pages(browser) == []  # exactly what was listed: no new question

    browser.tokens_for(rp, scope="openid", claims=PHONE_AND_USERNAME)
    (second,) = consent_pages(browser)  # preferred_username was never listed
    assert "preferred_username" in listed_claims(second)


def test_a_claim_the_client_is_not_registered_for_is_never_released(live: Live) -> None:
    """A real-named person's name and phone, asked for by name by a client registered for
    openid only: not on the consent page, not in the ID token, not at userinfo."""
    person = live.person()
    with live.app.app_context():
        found = db.session.get(Person, person["id"])
        assert found is not None
        found.name, found.loa = "测试·甲", 3  # as if real-named
        db.session.commit()
    rp = live.client(scopes=["openid"])
    browser = live.browser(person)
    asks = {"userinfo": {"name": None, "phone_number": None, "preferred_username": None}}
    asks["id_token"] = {"name": {"essential": True}, "phone_number": None}

    tokens = browser.tokens_for(rp, scope="openid", claims=json.dumps(asks))

    (page,) = consent_pages(browser)
    assert listed_claims(page) == set()
    id_token = jwt_claims(tokens["id_token"])
    assert not {"name", "phone_number", "preferred_username"} & id_token.keys()
    assert set(userinfo(live, tokens["access_token"])) == {"sub"}


def test_a_scope_the_client_is_not_registered_for_is_left_out(live: Live) -> None:
    person = live.person()
    rp = live.client(scopes=["openid", "profile"])
    browser = live.browser(person)

    tokens = browser.tokens_for(rp, scope="openid phone profile offline_access")

    assert tokens["scope"].split() == ["openid", "profile"]
    assert jwt_claims(tokens["access_token"])["scope"] == "openid profile"
    assert "refresh_token" not in tokens  # offline_access is not registered either
    info = userinfo(live, tokens["access_token"])
    assert info["preferred_username"] == person["username"]
    assert "phone_number" not in info


def test_org_is_refused_to_a_client_not_registered_for_it(live: Live) -> None:
    """The legal representative of an enterprise signs in to a client registered without
    `org` that asks for it anyway: no act-for page, no organisation at userinfo."""
    rep = rep_of(ACTIVE[0])
    data = {"username": "atkrep", "phone": "17000000711", "password": "teapot-harbour-2026"}
    with live.app.app_context():
        person = create_person(db.session, data["phone"], data["password"], rep, data["username"])
        register_organization(
            db.session,
            context.accounts(),
            context.connectors().enterprise,
            person,
            ACTIVE[0].uscc,
            ACTIVE[0].name,
        )
        db.session.commit()
    rp = live.client(scopes=["openid", "profile"])
    browser = live.browser(data)

    tokens = browser.tokens_for(
        rp, scope="openid org", claims=json.dumps({"userinfo": {"org": None}})
    )

    assert not any('name="act_for"' in page for page in browser.pages)
    assert "org" not in tokens["scope"].split()
    assert "org" not in userinfo(live, tokens["access_token"])
    assert "org" not in jwt_claims(tokens["id_token"])
    # the same person, a client registered for org: the chooser is there
    with_org = live.client(scopes=["openid", "org"])
    browser.tokens_for(with_org, scope="openid org")
    assert any('name="act_for"' in page for page in browser.pages)


def refused_at_rp(browser: Browser, rp: Any, scope: str) -> dict[str, str]:
    response = browser.get("/authorize", params=authorize_query(rp, scope=scope, state="st-scope"))
    assert response.status_code == 303 and response.headers["Location"].startswith(rp.redirect_uri)
    return query_of(response.headers["Location"])


def test_no_registered_scope_is_invalid_scope_not_an_empty_code(live: Live) -> None:
    person = live.person()
    browser = live.browser(person)
    assert browser.sign_in().status_code == 303
    openid_only = live.client(scopes=["openid"])
    no_openid = live.client(scopes=["profile"])

    for rp, scope in (
        (openid_only, "phone"),
        (openid_only, "no-such-scope"),
        (no_openid, "openid"),
    ):
        answer = refused_at_rp(browser, rp, scope)
        assert answer["error"] == "invalid_scope", (scope, answer)
        assert answer["state"] == "st-scope" and answer["iss"] == live.url
        assert "code" not in answer


def test_prompt_none_cannot_widen_a_consent(live: Live) -> None:
    """Silently, in an iframe: claims never consented to are consent_required, no code."""
    person = live.person()
    rp = live.client()
    browser = live.browser(person)
    browser.tokens_for(rp, scope="openid")

    query = authorize_query(rp, state="st-silent", prompt="none", claims=PHONE_AND_USERNAME)
    answer = browser.get("/authorize", params=query)

    q = query_of(answer.headers["Location"])
    assert q["error"] == "consent_required" and "code" not in q and q["state"] == "st-silent"
