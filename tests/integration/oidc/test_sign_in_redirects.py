"""Where the browser goes after the sign-in form, when an RP's authorization request waits.

The sign-in form carries the authentication transaction's id (`txn`) back; nothing is
read from a URL. When nothing is left to ask, POST /login answers with the code for the
RP (one redirect fewer than going through /signin/<txn>). When a page is left (consent),
it sends the browser to /signin/<txn>, so a reload never re-posts the password form.
"""

from __future__ import annotations

from tests.helpers import csrf_token
from tests.integration.oidc.conftest import pkce, query_of, redeem


def start(browser, rp, **extra: str) -> tuple[str, str]:
    """GET /authorize in a browser with no session: (the transaction id, the PKCE verifier)."""
    verifier, challenge = pkce()
    query = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid",
        "state": "st-9",
        "nonce": "n-9",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    response = browser.client.get("/authorize", query_string=query)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    return query_of(response.headers["Location"])["txn"], verifier


def post_login(browser, txn_id: str, password: str | None = None):
    return browser.client.post(
        "/login",
        data={
            "username": browser.person["username"],
            "password": password or browser.person["password"],
            "csrf_token": csrf_token(browser.client, "/login"),
            "txn": txn_id,
        },
    )


def test_with_nothing_left_to_ask_the_sign_in_answers_with_the_code(app, browser, register):
    rp = register(first_party=True)
    txn_id, verifier = start(browser, rp)
    response = post_login(browser, txn_id)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(rp.redirect_uri + "?")
    q = query_of(location)
    assert q["state"] == "st-9" and q["iss"] == "http://127.0.0.1:8000"
    tokens = redeem(app.test_client(), rp, q["code"], verifier)
    assert tokens.status_code == 200 and "id_token" in tokens.json
    # the sign-in cookie came with the code: the next RP request needs no sign-in
    assert browser.client.get_cookie("idp_sid") is not None
    # the request was answered once: its resume URL gives no second code, only the
    # plain words that the step is done (issue 14, item 1)
    again = browser.client.get(f"/signin/{txn_id}")
    page = again.get_data(as_text=True)
    assert again.status_code == 200 and "Location" not in again.headers
    assert "此步骤已完成" in page and "code=" not in page


def test_a_wrong_password_still_goes_back_to_the_form(browser, register):
    rp = register(first_party=True)
    txn_id, _ = start(browser, rp)
    response = post_login(browser, txn_id, password="not-the-password-1")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?")
    assert query_of(response.headers["Location"])["txn"] == txn_id


def test_with_consent_to_give_the_browser_goes_to_the_resume_page(browser, rp):
    txn_id, _ = start(browser, rp, prompt="login")
    resume = f"/signin/{txn_id}"
    response = post_login(browser, txn_id)
    assert response.status_code == 303 and response.headers["Location"] == resume
    page = browser.client.get(resume)
    assert page.status_code == 200 and 'value="allow"' in page.get_data(as_text=True)
    # reloading the consent page keeps the fresh sign-in: prompt=login is not asked twice
    reloaded = browser.client.get(resume)
    assert reloaded.status_code == 200 and 'value="allow"' in reloaded.get_data(as_text=True)
    html = reloaded.get_data(as_text=True)
    action = html.split('action="')[1].split('"')[0]
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    decided = browser.client.post(action, data={"csrf_token": token, "decision": "allow"})
    assert decided.status_code == 303 and "code" in query_of(decided.headers["Location"])
