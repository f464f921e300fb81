"""The authentication transaction as a browser meets it: answered once, only by the session
it belongs to, never showing a page to a passive request, and the same checks for a
sign-in no service asked for."""

from __future__ import annotations

from sqlalchemy import func, select

from idp import context
from idp.authn.models import Consent
from idp.db import db
from realname.models import AgreementAcceptance
from tests.helpers import csrf_token, sign_in
from tests.integration.oidc.conftest import Browser, form_of, pkce, query_of


def _second_person(app) -> dict[str, str]:
    data = {"username": "bob", "phone": "17000000102", "password": "lantern-orchard-2026"}
    with app.app_context(), db.transaction() as session:
        data["id"] = context.accounts().create_person(session, **data).id
    return data


def _consent_page(browser: Browser, rp) -> tuple[str, str, str]:
    """Signed in, at the consent page of a new request: (form action, csrf, state)."""
    browser.sign_in()
    _, challenge = pkce()
    response = browser.open_step(
        rp,
        scope="openid profile",
        state="st-7",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    assert response.status_code == 200 and 'value="allow"' in response.get_data(as_text=True)
    action, token = form_of(response.get_data(as_text=True))
    return action, token, "st-7"


def _consents(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Consent))


def test_another_persons_session_cannot_answer_the_consent_page(app, browser, rp):
    action, _, _ = _consent_page(browser, rp)
    other = Browser(app.test_client(), _second_person(app))
    other.sign_in()
    answer = other.client.post(
        action, data={"csrf_token": csrf_token(other.client, "/account"), "decision": "allow"}
    )
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert _consents(app) == 0  # nothing remembered for anyone
    # and the person it belongs to can still answer it
    action, token = form_of(browser.client.get(action.rsplit("/", 1)[0]).get_data(as_text=True))
    done = browser.client.post(action, data={"csrf_token": token, "decision": "allow"})
    assert "code" in query_of(done.headers["Location"])


def test_a_consent_is_answered_once(app, browser, rp):
    action, token, state = _consent_page(browser, rp)
    first = browser.client.post(action, data={"csrf_token": token, "decision": "allow"})
    assert query_of(first.headers["Location"])["state"] == state
    again = browser.client.post(action, data={"csrf_token": token, "decision": "allow"})
    # no second code: the person is told the step is done, on a page that can be reloaded
    assert again.status_code == 303 and again.headers["Location"] == action.rsplit("/", 1)[0]
    done = browser.client.get(again.headers["Location"]).get_data(as_text=True)
    assert "此步骤已完成" in done and "code=" not in done


def test_denying_sends_access_denied_and_remembers_nothing(app, browser, rp):
    action, token, state = _consent_page(browser, rp)
    denied = browser.client.post(action, data={"csrf_token": token, "decision": "deny"})
    q = query_of(denied.headers["Location"])
    assert q["error"] == "access_denied" and q["state"] == state and "code" not in q
    assert _consents(app) == 0


def test_a_passive_request_never_shows_the_agreement_page(app, browser, rp):
    """prompt=none with a newer agreement to accept: interaction_required, not a page."""
    browser.authorize(rp, scope="openid")  # consent remembered
    with app.app_context():
        db.session.add(
            AgreementAcceptance(
                person_id=browser.person["id"], kind="person", version="2025-01", channel="web"
            )
        )
        db.session.commit()
    _, challenge = pkce()
    response = browser.open_authorize(
        rp,
        scope="openid",
        state="st-8",
        prompt="none",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    q = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith(rp.redirect_uri)
    assert q["error"] == "interaction_required" and q["state"] == "st-8" and "code" not in q


def test_a_sign_in_without_a_service_goes_through_the_same_agreement_check(app, client, person):
    with app.app_context():
        db.session.add(
            AgreementAcceptance(
                person_id=person["id"], kind="person", version="2025-01", channel="web"
            )
        )
        db.session.commit()
    response = sign_in(client, person["username"], person["password"], next="/account#sessions")
    location = response.headers["Location"]
    assert location.startswith("/agreement/accept?txn=")
    page = client.get(location).get_data(as_text=True)
    done = client.post(
        "/agreement/accept",
        data={
            "csrf_token": form_of(page)[1],
            "decision": "accept",
            "txn": query_of(location)["txn"],
        },
    )
    assert done.headers["Location"] == "/account#sessions"  # where the person was going


def test_a_stale_transaction_id_shows_an_error_and_sends_nothing(client, person):
    sign_in(client, person["username"], person["password"])
    response = client.get("/signin/not-a-transaction")
    assert response.status_code == 400 and "Location" not in response.headers
