"""A person without an account, sent to sign in by a service, registers from the sign-in
page's own link and goes on to that service: the link carries the sign-in (`txn`), and the
registration ends in it, with the code for the RP."""

from __future__ import annotations

import re

from tests.integration.oidc.conftest import query_of, redeem
from tests.integration.oidc.test_sign_in_redirects import start
from tests.integration.pages_register.support import code_sent, post

PHONE = "17000000671"
PASSWORD = "Register-From-Login-2026"


def register_link(html: str) -> str:
    found = re.search(r'<a href="(/register[^"]*)">', html)
    assert found, "the sign-in page has no link to register"
    return found.group(1).replace("&amp;", "&")


def test_registering_from_the_sign_in_page_continues_to_the_service(app, browser, register):
    rp = register(first_party=True)
    txn_id, verifier = start(browser, rp)
    login_page = browser.client.get(f"/login?txn={txn_id}").get_data(as_text=True)
    link = register_link(login_page)
    assert query_of(link)["txn"] == txn_id

    form = browser.client.get(link).get_data(as_text=True)
    assert f'name="txn" value="{txn_id}"' in form
    step = post(
        browser.client, "/register", token_from=link, phone=PHONE, agreement="yes", txn=txn_id
    )
    url = step.headers["Location"]
    done = post(browser.client, url, code=code_sent(app, PHONE), password=PASSWORD)
    # the sign-in the service asked for goes on, as the new person: the RP gets its code
    location = done.headers["Location"]
    assert done.status_code == 303 and location.startswith(rp.redirect_uri + "?")
    q = query_of(location)
    assert q["state"] == "st-9" and "error" not in q
    tokens = redeem(app.test_client(), rp, q["code"], verifier)
    assert tokens.status_code == 200 and "id_token" in tokens.json


def test_an_expired_sign_in_is_not_carried_to_registration(browser):
    page = browser.client.get("/login?txn=no-such-sign-in").get_data(as_text=True)
    assert register_link(page) == "/register"
