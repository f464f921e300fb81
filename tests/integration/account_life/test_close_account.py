"""Closing an account (注销): asked for with the password, a cooling-off period during which
signing in offers to keep the account, then `idp accounts close-due`: sessions ended with
every RP told, tokens and consents revoked, identifiers erased, the row kept as a tombstone,
audit rows kept."""

from __future__ import annotations

import json
from datetime import timedelta

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp import context
from idp.accounts.models import Person
from idp.authn.models import Consent
from idp.db import db
from tests.helpers import csrf_token, sign_in
from tests.integration.account_life.support import audit, make_person, person_row, post, texts
from tests.integration.channels.app_support import enrolled_phone
from tests.integration.oidc.conftest import Browser, query_of, redeem
from tests.integration.oidc.test_backchannel_logout import (
    LOGOUT_EVENT,
    check_logout_token,
    id_token_for,
    jwks,
)
from tests.integration.oidc.test_backchannel_logout import sign_out as logout
from tests.integration.org_support import ACTIVE, PASSWORD, new_person, rep_of
from tests.integration.org_support import register as register_org

LATER = "2099-01-01T00:00:00+0000"
ACCOUNT_PURGED = "https://schemas.openid.net/secevent/risc/event-type/account-purged"


def ask_to_close(client, password: str, understood: bool = True):
    data = {"close_password": password}
    if understood:
        data["understood"] = "yes"
    return post(client, "/account/close", page="/account/close", **data)


def close_due(app, now: str = LATER) -> dict:
    result = app.test_cli_runner().invoke(args=["accounts", "close-due", "--now", now, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_closing_needs_the_password_and_the_box_ticked(app, client, person):
    sign_in(client, person["username"], person["password"])
    page = client.get("/account/close").get_data(as_text=True)
    assert "15 天后注销" in page and "可用相同号码重新注册" in page
    wrong = ask_to_close(client, "not-my-password-1")
    assert wrong.headers["Location"] == "/account/close"
    assert "当前密码不正确" in client.get("/account/close").get_data(as_text=True)
    unticked = ask_to_close(client, person["password"], understood=False)
    assert unticked.headers["Location"] == "/account/close"
    assert "请勾选" in client.get("/account/close").get_data(as_text=True)
    assert person_row(app, person["id"]).closure_due_at is None
    assert audit(app, "person:account:closure_requested") == []


def test_a_forged_cross_site_post_closes_nothing(app, client, person):
    sign_in(client, person["username"], person["password"])
    forged = client.post(
        "/account/close", data={"close_password": person["password"], "understood": "yes"}
    )
    assert forged.status_code == 400
    assert person_row(app, person["id"]).closure_due_at is None


def test_during_the_cooling_off_period_signing_in_offers_to_keep_the_account(app, client, person):
    sign_in(client, person["username"], person["password"])
    assert ask_to_close(client, person["password"]).status_code == 303
    due = person_row(app, person["id"]).closure_due_at
    assert due is not None
    day = (due + timedelta(hours=8)).strftime("%Y-%m-%d")  # China time
    assert texts(app, person["phone"]) == [
        f"【统一身份认证平台】您已申请注销账号，将于{day}生效。如非本人操作，请登录撤销或致电12345。"
    ]
    assert "账号将于" in client.get("/account").get_data(as_text=True)
    assert close_due(app, "2026-01-01T00:00:00+0000")["closed"] == []  # not yet due

    again = app.test_client()
    signed_in = sign_in(again, person["username"], person["password"])
    assert signed_in.headers["Location"].startswith("/account/closing")
    notice = again.get(signed_in.headers["Location"]).get_data(as_text=True)
    assert "您已申请注销账号" in notice and "撤销注销，保留账号" in notice
    kept = post(again, "/account/close/cancel", page=signed_in.headers["Location"], then="/account")
    assert kept.headers["Location"] == "/account"
    assert "已撤销注销" in again.get("/account").get_data(as_text=True)
    assert person_row(app, person["id"]).closure_due_at is None
    assert close_due(app)["closed"] == []
    assert len(audit(app, "person:account:closure_cancelled", person["id"])) == 1


def test_the_closing_page_never_sends_a_person_to_another_site(app, client, person):
    sign_in(client, person["username"], person["password"])
    ask_to_close(client, person["password"])
    for then in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        page = client.get("/account/closing", query_string={"then": then}).get_data(as_text=True)
        assert 'name="then" value="/account"' in page  # the account centre instead
        assert 'href="/account">继续，按计划注销' in page


def test_when_due_everything_ends_and_the_numbers_can_register_again(
    app, browser, register, rps, person
):
    rp = register(name="社保系统", backchannel_logout_uri=rps.uri("social"))
    id_token = id_token_for(app, browser, rp, "openid phone offline_access")
    code, verifier = browser.code_for(rp, scope="openid offline_access")
    refresh = redeem(app.test_client(), rp, code, verifier).json["refresh_token"]
    assert ask_to_close(browser.client, person["password"]).status_code == 303

    result = close_due(app)
    assert result["closed"] == [person["id"]]
    check_logout_token(app, rps.next(), rp, id_token)  # the RP is told
    # the session, the tokens and the consent are gone
    assert browser.client.get("/account").status_code == 303
    refreshed = app.test_client().post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        headers=rp.basic,
    )
    assert refreshed.status_code == 400
    with app.app_context():
        consents = select(Consent).where(Consent.person_id == person["id"])
        assert db.session.scalars(consents).all() == []
        tombstone = db.session.get(Person, person["id"])
        assert tombstone is not None and tombstone.status == "closed"
        assert tombstone.phone_sealed is None and tombstone.phone_index is None
        assert tombstone.username is None and tombstone.credentials == []
    # nobody signs in as the closed account; its number and name are free again
    assert (
        sign_in(app.test_client(), person["username"], person["password"])
        .headers["Location"]
        .startswith("/login")
    )
    make_person(app, username="alice", phone=person["phone"], password="new-life-teapot-77")
    # the audit trail still names the closed person's row
    assert audit(app, "person:login:succeeded", person["id"])
    assert len(audit(app, "person:account:closed", person["id"])) == 1
    assert close_due(app)["closed"] == []  # once only


def test_a_closed_persons_id_number_can_be_proven_again(app, person):
    from idp.db import utcnow

    with app.app_context():
        row = db.session.get(Person, person["id"])
        assert row is not None
        row.id_number_index = context.accounts().sealer.blind_index("id:resident", "X")
        row.closure_due_at = utcnow()
        db.session.commit()
    close_due(app)
    assert person_row(app, person["id"]).id_number_index is None


def test_every_service_the_person_used_hears_that_the_account_is_gone(
    app, browser, register, rps, person
):
    """Even a service with no live session of the person (signed out before) is told, by a
    Logout Token for every session (no sid) carrying the RISC account-purged event."""
    rp = register(name="社保系统", backchannel_logout_uri=rps.uri("social"))
    id_token = id_token_for(app, browser, rp)
    assert logout(browser).status_code == 303
    assert rps.next().path == "/social"  # that sign-out's own notice
    browser.sign_in()
    assert ask_to_close(browser.client, person["password"]).status_code == 303

    close_due(app)
    post_ = rps.next()
    keys = KeySet.import_key_set({"keys": [k for k in jwks(app)["keys"] if k.get("crv") != "SM2"]})
    claims = jwt.decode(post_.token, keys, algorithms=["RS256"]).claims
    assert post_.path == "/social" and claims["aud"] == rp.client_id
    assert claims["sub"] == id_token["sub"] and "sid" not in claims
    assert claims["events"] == {
        LOGOUT_EVENT: {},
        ACCOUNT_PURGED: {
            "subject": {"format": "iss_sub", "iss": id_token["iss"], "sub": id_token["sub"]}
        },
    }
    assert rps.rest() == []  # one notice for the account (no live session was left)


def test_a_service_sign_in_during_the_cooling_off_period_goes_on_after_the_notice(
    app, browser, rp, person
):
    browser.sign_in()
    assert ask_to_close(browser.client, person["password"]).status_code == 303
    other = Browser(app.test_client(), person)
    asked = other.open_authorize(rp, scope="openid", state="st-1", nonce="n-1")
    login_page = asked.headers["Location"]
    signed_in = other.client.post(
        "/login",
        data={
            "username": person["username"],
            "password": person["password"],
            "csrf_token": csrf_token(other.client, login_page),
            "txn": query_of(login_page)["txn"],
        },
    )
    notice = signed_in.headers["Location"]
    assert notice.startswith("/account/closing")
    then = query_of(notice)["then"]
    assert then.startswith("/signin/")  # the service's sign-in, resumed after the notice
    assert "按计划注销" in other.client.get(notice).get_data(as_text=True)
    onward = other.client.get(then)
    assert onward.status_code == 200 and "请求使用您的账号" in onward.get_data(as_text=True)
    assert person_row(app, person["id"]).closure_due_at is not None  # going on keeps it


def test_another_persons_session_cannot_close_an_account(app, client, person):
    make_person(app, username="bob", phone="17000000202", password="harbour-lantern-5531")
    sign_in(client, "bob", "harbour-lantern-5531")
    refused = ask_to_close(client, person["password"])  # alice's password, bob's session
    assert refused.headers["Location"] == "/account/close"
    assert person_row(app, person["id"]).closure_due_at is None


def test_the_closure_page_names_the_organisations_the_person_acts_for(app, client):
    enterprise = ACTIVE[0]
    with app.app_context():
        rep = new_person(db.session, rep_of(enterprise))
        register_org(db.session, rep, enterprise)
        db.session.commit()
        phone = context.accounts().phone(rep)
        assert phone is not None
    sign_in(client, phone, PASSWORD)
    page = client.get("/account/close").get_data(as_text=True)
    assert enterprise.name in page.split('data-field="organisations"')[1].split("</ul>")[0]
    assert "法定代表人" in page and "确保有他人可代表该单位办事" in page


def test_the_app_tells_its_owner_while_a_closure_is_pending(app, client, person):
    """Someone who learnt the password asked to close the account: the owner's phone says
    so with what it lists, until the closure is cancelled."""
    phone = enrolled_phone(app, person)
    assert "closure_due_at" not in phone.call("GET", "/app/api/approvals").json
    sign_in(client, person["username"], person["password"])
    ask_to_close(client, person["password"])
    due = person_row(app, person["id"]).closure_due_at
    listed = phone.call("GET", "/app/api/approvals").json
    assert listed["closure_due_at"] == due.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert listed["approvals"] == []
    post(client, "/account/close/cancel", page="/account")
    assert "closure_due_at" not in phone.call("GET", "/app/api/approvals").json
