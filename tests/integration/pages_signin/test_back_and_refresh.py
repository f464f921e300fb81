"""Refresh and Back on the sign-in side (issue 14, item 1): every step page is reached by
GET and reloads cleanly; Back to a step of a sign-in this browser finished says, in plain
words, that it is done and offers to go on to the service (never "expired", never a
second code); another browser, or an expired sign-in, hears only that it expired."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from idp.authn.models import Consent
from idp.db import db
from tests.helpers import csrf_token
from tests.integration.oidc.conftest import REDIRECT, Browser, form_of, pkce, query_of
from tests.integration.oidc.test_act_for import ENTERPRISE, enterprise_with_agent

DONE = "此步骤已完成"
EXPIRED = "本次登录"  # the expired page's words name the sign-in, never "done"


def _params(**params: str) -> dict[str, str]:
    _, challenge = pkce()
    return {
        "scope": params.pop("scope", "openid profile"),
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **params,
    }


def request(browser: Browser, rp: Any, **params: str) -> Any:
    """The service's request: the provider's first answer (a redirect)."""
    return browser.open_authorize(rp, **_params(**params))


def authorize(browser: Browser, rp: Any, **params: str) -> Any:
    """The service's request, for a person signed in already: its step page (at
    /signin/<id>, where Back from the service finds it)."""
    return browser.open_step(rp, **_params(**params))


def sign_in_for(browser: Browser, login_location: str) -> Any:
    """The sign-in form of a transaction, filled in and sent."""
    txn_id = query_of(login_location)["txn"]
    return browser.client.post(
        "/login",
        data={
            "username": browser.person["username"],
            "password": browser.person["password"],
            "csrf_token": csrf_token(browser.client, login_location),
            "txn": txn_id,
        },
    )


def consents(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Consent)) or 0


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def test_refresh_on_consent_after_act_for_shows_consent_again(app, register):
    _, agent, org_id, _ = enterprise_with_agent(app)
    rp = register(scopes=["openid", "org"])
    browser = Browser(app.test_client(), agent)
    browser.sign_in()
    chooser = authorize(browser, rp, scope="openid org")
    action, token = form_of(text(chooser))
    chosen = browser.client.post(
        action, data={"csrf_token": token, "act_for": org_id, "decision": "continue"}
    )
    assert chosen.status_code == 303  # POST/redirect/GET: Refresh never resends the choice
    consent_page = chosen.headers["Location"]
    for _ in range(3):  # Refresh, Refresh, Refresh
        page = browser.client.get(consent_page)
        assert page.status_code == 200 and 'value="allow"' in text(page)
        assert "已失效" not in text(page) and "超时" not in text(page)
    action, token = form_of(text(page))
    allowed = browser.client.post(action, data={"csrf_token": token, "decision": "allow"})
    assert "code" in query_of(allowed.headers["Location"])  # acting for the enterprise
    assert ENTERPRISE.uscc not in allowed.headers["Location"]


def test_the_act_for_form_sent_again_changes_nothing(app, register):
    _, agent, org_id, _ = enterprise_with_agent(app)
    rp = register(scopes=["openid", "org"])
    browser = Browser(app.test_client(), agent)
    browser.sign_in()
    action, token = form_of(text(authorize(browser, rp, scope="openid org")))
    first = browser.client.post(action, data={"csrf_token": token, "act_for": org_id})
    again = browser.client.post(action, data={"csrf_token": token, "act_for": "self"})
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    page = text(browser.client.get(again.headers["Location"]))
    assert 'value="allow"' in page and 'data-claim="org"' in page  # still at consent


def test_back_to_the_consent_page_after_signing_in_says_it_is_done(app, browser, rp):
    browser.sign_in()
    consent = authorize(browser, rp)
    assert consent.status_code == 200
    action, token = form_of(text(consent))
    allowed = browser.client.post(action, data={"csrf_token": token, "decision": "allow"})
    assert query_of(allowed.headers["Location"])["state"] == "st-1"
    step_page = action.rsplit("/", 1)[0]

    back = browser.client.get(step_page)  # the browser's Back button
    page = text(back)
    assert back.status_code == 200 and DONE in page and "社保系统" in page
    assert 'href="https://rp.example.test/"' in page  # on to the service's own site
    assert "code=" not in page and "已超时" not in page

    again = browser.client.post(action, data={"csrf_token": token, "decision": "allow"})
    assert again.status_code == 303 and again.headers["Location"] == step_page
    assert DONE in text(browser.client.get(step_page))
    assert consents(app) == 1


def test_back_to_the_sign_in_page_after_signing_in_says_it_is_done(app, browser, register):
    rp = register(first_party=True)  # no consent: the sign-in goes straight to the RP
    login = request(browser, rp)
    login_page = login.headers["Location"]
    assert login_page.startswith("/login?txn=")
    signed_in = sign_in_for(browser, login_page)
    assert signed_in.headers["Location"].startswith(REDIRECT + "?code=")

    back = browser.client.get(login_page)  # Back from the RP
    assert back.status_code == 200 and DONE in text(back)
    assert 'name="password"' not in text(back)  # no form to sign in a second time
    assert 'href="https://rp.example.test/"' in text(back)


def test_a_declined_request_says_it_was_answered(app, browser, rp):
    browser.sign_in()
    action, token = form_of(text(authorize(browser, rp)))
    denied = browser.client.post(action, data={"csrf_token": token, "decision": "deny"})
    assert query_of(denied.headers["Location"])["error"] == "access_denied"
    page = text(browser.client.get(action.rsplit("/", 1)[0]))
    assert "您已答复" in page and "未同意" in page and 'data-outcome="declined"' in page
    assert consents(app) == 0


def test_another_browser_is_not_told_about_a_finished_sign_in(app, browser, rp):
    browser.sign_in()
    action, token = form_of(text(authorize(browser, rp)))
    browser.client.post(action, data={"csrf_token": token, "decision": "allow"})
    stranger = app.test_client()
    page = stranger.get(action.rsplit("/", 1)[0])
    assert page.status_code == 400 and DONE not in text(page) and "社保系统" not in text(page)
    login = stranger.get("/login?txn=" + action.split("/")[2])
    assert DONE not in text(login) and 'id="signin-gone"' in text(login)


def test_after_signing_out_the_finished_sign_in_is_not_recalled(app, browser, rp):
    browser.sign_in()
    action, token = form_of(text(authorize(browser, rp)))
    browser.client.post(action, data={"csrf_token": token, "decision": "allow"})
    browser.client.post("/logout", data={"csrf_token": csrf_token(browser.client, "/logout")})
    assert DONE not in text(browser.client.get(action.rsplit("/", 1)[0]))


def test_an_expired_sign_in_still_says_expired(app, client):
    page = client.get("/signin/no-such-sign-in")
    assert page.status_code == 400 and DONE not in text(page)
    login = text(client.get("/login?txn=no-such-sign-in"))
    assert 'id="signin-gone"' in login and login.count("本次登录已超时") == 1
    assert 'name="password"' in login  # the person may still sign in: to the account centre
    assert 'name="txn"' not in login
    qr_tab = text(client.get("/login?txn=no-such-sign-in&method=qr"))
    assert qr_tab.count("本次登录已超时") == 1  # said once, in the QR tab's own place


def test_the_account_centres_own_sign_in_continues_to_the_account(app, client, person):
    login = client.get("/account")
    assert login.status_code in (302, 303)
    form_page = login.headers["Location"]
    txn_id = query_of(form_page).get("txn")
    sent = client.post(
        "/login",
        data={
            "username": person["username"],
            "password": person["password"],
            "csrf_token": csrf_token(client, form_page),
            **({"txn": txn_id} if txn_id else {}),
        },
    )
    assert sent.headers["Location"].endswith("/account")
    if txn_id:  # Back to the sign-in page: done, on to the account centre
        back = text(client.get(form_page))
        assert DONE in back and 'href="/account"' in back


def finished_records(app) -> int:
    from idp import context

    with app.app_context():
        return len(list(context.store().client.scan_iter("idp:signin-finished:*")))


def test_a_silent_sign_in_check_leaves_no_record_behind(app, browser, register):
    rp = register(first_party=True)
    browser.sign_in()
    before = finished_records(app)
    silent = request(browser, rp, prompt="none")
    assert silent.headers["Location"].startswith(REDIRECT + "?code=")
    assert finished_records(app) == before  # prompt=none showed no page to come back to
    shown = request(browser, rp)  # the same answer with pages allowed is remembered
    assert shown.headers["Location"].startswith(REDIRECT + "?code=")
    assert finished_records(app) == before + 1
