"""A new version of the registration agreement is asked for at the next sign-in."""

from __future__ import annotations

from sqlalchemy import select

from idp.db import db
from realname.agreements import CURRENT, AgreementKind
from realname.models import AgreementAcceptance
from tests.helpers import csrf_token, sign_in
from tests.integration.oidc.conftest import pkce, query_of


def accepted_old_version(app, person_id: str) -> None:
    with app.app_context():
        db.session.add(
            AgreementAcceptance(
                person_id=person_id, kind="person", version="2025-01", channel="web"
            )
        )
        db.session.commit()


def versions(app, person_id: str) -> list[str]:
    with app.app_context():
        return sorted(
            db.session.scalars(
                select(AgreementAcceptance.version).where(
                    AgreementAcceptance.person_id == person_id
                )
            )
        )


def test_sign_in_asks_for_the_new_version_once(app, client, person):
    accepted_old_version(app, person["id"])
    response = sign_in(client, person["username"], person["password"])
    assert response.headers["Location"].startswith("/agreement/accept")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "协议已更新" in page and 'value="accept"' in page
    done = client.post(
        "/agreement/accept",
        data={
            "csrf_token": csrf_token(client, "/agreement/accept"),
            "decision": "accept",
            "txn": query_of(response.headers["Location"])["txn"],  # the form's hidden field
        },
    )
    assert done.headers["Location"] == "/account"
    assert versions(app, person["id"]) == ["2025-01", CURRENT[AgreementKind.person].version]
    again = sign_in(app.test_client(), person["username"], person["password"])
    assert again.headers["Location"] == "/account"


def test_relying_party_sign_in_waits_for_the_acceptance(app, browser, rp, person):
    accepted_old_version(app, person["id"])
    browser.sign_in()
    _, challenge = pkce()
    response = browser.open_authorize(
        rp, scope="openid", state="s", code_challenge=challenge, code_challenge_method="S256"
    )
    location = response.headers["Location"]
    assert location.startswith("/agreement/accept")
    txn_id = query_of(location)["txn"]
    done = browser.client.post(
        "/agreement/accept",
        data={
            "csrf_token": csrf_token(browser.client, location),
            "decision": "accept",
            "txn": txn_id,
        },
    )
    assert done.headers["Location"] == f"/signin/{txn_id}"  # the consent page still to show
    consent = browser.client.get(done.headers["Location"])
    assert consent.status_code == 200 and 'value="allow"' in consent.get_data(as_text=True)


def test_people_who_never_accepted_online_are_not_stopped(client, person):
    assert sign_in(client, person["username"], person["password"]).headers["Location"] == "/account"
