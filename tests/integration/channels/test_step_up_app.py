"""Step-up across channels (issue 13, item 7): an RP asks loa:4 of a loa-3 web session; the
face page offers "在 App 上确认"; the app approves with a face check and the browser that
asked finishes it, reaching loa:4 with amr swk + face. The ID token's acr is the level
reached, never more: an approval without a face check does not reach loa:4.

The app's answer is given as the app API gives it (Approvals.answer, by the person's
enrolled device)."""

from __future__ import annotations

import re

import pytest
from joserfc.jwk import ECKey
from sqlalchemy import select

from connectors import synthetic
from idp import context
from idp.accounts.models import Person
from idp.accounts.sessions import session_id_for
from idp.audit import AuditEvent
from idp.authn.approvals import ApprovalKind, ApprovalRefusedError, Approvals, ApprovalState
from idp.authn.devices import Devices
from idp.db import db
from idp.web.security import SSO_COOKIE
from tests.helpers import cookie, csrf_token
from tests.integration.channels.test_frontchannel_logout import (
    chromium_serving,
    registered,
    with_session_of,
)
from tests.integration.oidc.conftest import Browser, form_of, pkce, query_of, redeem
from tests.integration.oidc.test_act_for import real_named
from tests.integration.oidc.test_code_flow import verify

ALIVE = [p for p in synthetic.generate().persons if p.status == "alive"]
ME = ALIVE[12]
LOA4 = "urn:cn:gov:idp:loa:4"


@pytest.fixture
def me(app) -> dict[str, str]:
    """A loa-4 person (face proven before) with the app on one phone."""
    data = real_named(app, "17000000951", ME)
    with app.app_context():
        db.session.get(Person, data["id"]).loa = 4
        device = Devices(db.session).enrol(data["id"], ECKey.generate_key("P-256"), "我的手机")
        db.session.commit()
        data["device_id"] = device.id
    return data


class StepUp:
    """A browser sent to the face page by an RP asking loa:4 (after a password sign-in)."""

    def __init__(self, app, person: dict[str, str]) -> None:
        self.app, self.person = app, person
        self.rp = registered(app)
        self.browser = Browser(app.test_client(), person)
        self.browser.sign_in()  # a password: loa:3 in this session
        self.verifier, challenge = pkce()
        response = self.browser.open_authorize(
            self.rp,
            scope="openid",
            state="s",
            nonce="n",
            code_challenge=challenge,
            code_challenge_method="S256",
            acr_values=LOA4,
        )
        self.browser_session_id = session_id_for(cookie(self.browser.client, SSO_COOKIE))
        self.face_page = response.headers["Location"]
        assert self.face_page.startswith("/account/face?txn=")
        self.txn_id = query_of(self.face_page)["txn"]

    def ask_app(self) -> str:
        """Press 在 App 上确认: the approval's id, from the waiting page's address."""
        html = self.browser.client.get(self.face_page).get_data(as_text=True)
        assert "在 App 上确认" in html
        response = self.browser.client.post(
            "/account/face/app", data={"csrf_token": csrf_token_of(html), "txn": self.txn_id}
        )
        assert response.status_code == 303
        return response.headers["Location"].rsplit("/", 1)[1]

    def status(self, approval_id: str, client=None) -> str:
        client = client or self.browser.client
        return client.get(f"/account/face/app/{approval_id}/status").json["state"]

    def finish(self, approval_id: str, client=None):
        client = client or self.browser.client
        token = csrf_token(client, "/account")
        return client.post(f"/account/face/app/{approval_id}/finish", data={"csrf_token": token})

    def id_token_after(self, finished) -> dict:
        """Follow a finished step-up to the RP: consent, code, ID token."""
        assert finished.headers["Location"] == f"/signin/{self.txn_id}"
        consent = self.browser.client.get(finished.headers["Location"])
        action, token = form_of(consent.get_data(as_text=True))
        done = self.browser.client.post(action, data={"csrf_token": token, "decision": "allow"})
        code = query_of(done.headers["Location"])["code"]
        redeemed = redeem(self.app.test_client(), self.rp, code, self.verifier)
        return verify(self.app, redeemed.json["id_token"])


def csrf_token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def answer(app, approval_id: str, me: dict[str, str], *, approve=True, amr=("swk", "face")):
    with app.app_context():
        Approvals(context.store()).answer(
            approval_id,
            person_id=me["id"],
            device_id=me["device_id"],
            approve=approve,
            amr=list(amr),
        )


def test_approved_with_a_face_in_the_app_reaches_loa4(app, me):
    step = StepUp(app, me)
    approval_id = step.ask_app()
    waiting = step.browser.client.get(f"/account/face/app/{approval_id}")
    html = waiting.get_data(as_text=True)
    assert waiting.status_code == 200 and "step_up_app.js" in html
    assert f'data-status="/account/face/app/{approval_id}/status"' in html
    assert "我已在 App 上确认" in html  # without JavaScript, the person presses it
    with app.app_context():  # what the person's phone shows
        (shown,) = Approvals(context.store()).pending_for(me["id"])
    assert (shown.id, shown.kind, shown.client_name, shown.level) == (
        approval_id,
        ApprovalKind.step_up,
        "社保系统",
        4,
    )
    assert step.status(approval_id) == "waiting"

    answer(app, approval_id, me)
    assert step.status(approval_id) == "approved"
    claims = step.id_token_after(step.finish(approval_id))
    assert claims["acr"] == LOA4
    assert {"pwd", "swk", "face"} <= set(claims["amr"])
    with app.app_context():
        assert Approvals(context.store()).find(approval_id).state is ApprovalState.consumed
        (row,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "person:session:stepped_up")
        )
    assert row.detail["amr"] == ["swk", "face"] and row.detail["acr"] == LOA4
    assert row.detail["device_id"] == me["device_id"]


def test_approved_without_a_face_does_not_reach_loa4(app, me):
    step = StepUp(app, me)
    approval_id = step.ask_app()
    answer(app, approval_id, me, amr=("swk",))
    finished = step.finish(approval_id)
    assert finished.headers["Location"] == step.face_page  # asked again, no code for the RP
    page = step.browser.client.get(finished.headers["Location"]).get_data(as_text=True)
    assert "未经刷脸核验" in page
    with app.app_context():
        (sso,) = context.sessions().list_for_person(me["id"])
    assert sso.acr == "urn:cn:gov:idp:loa:3" and "face" not in sso.amr


def test_only_the_browser_session_that_asked_finishes_it_and_only_once(app, me):
    step = StepUp(app, me)
    approval_id = step.ask_app()
    answer(app, approval_id, me)
    other_tab = Browser(app.test_client(), me)  # the same person, another session
    other_tab.sign_in()
    assert step.status(approval_id, other_tab.client) == "gone"
    stolen = step.finish(approval_id, other_tab.client)
    assert stolen.status_code == 303 and "/signin/" not in stolen.headers["Location"]
    with app.app_context():
        assert Approvals(context.store()).find(approval_id).state is ApprovalState.approved
        sessions = context.sessions().list_for_person(me["id"])
    assert [s.acr for s in sessions] == ["urn:cn:gov:idp:loa:3"] * 2  # neither was raised

    forged = step.browser.client.post(f"/account/face/app/{approval_id}/finish")
    assert forged.status_code == 400  # no CSRF token
    assert step.id_token_after(step.finish(approval_id))["acr"] == LOA4
    replayed = step.finish(approval_id)
    assert replayed.status_code == 303 and "/signin/" not in replayed.headers["Location"]


def test_another_persons_session_cannot_use_the_approval(app, me):
    step = StepUp(app, me)
    approval_id = step.ask_app()
    mallory = real_named(app, "17000000952", ALIVE[13])
    with app.app_context(), pytest.raises(ApprovalRefusedError):  # her phone cannot answer it
        Approvals(context.store()).answer(
            approval_id, person_id=mallory["id"], device_id="d-x", approve=True, amr=["swk"]
        )
    hers = Browser(app.test_client(), mallory)
    hers.sign_in()
    assert step.status(approval_id, hers.client) == "gone"
    answer(app, approval_id, me)
    step.finish(approval_id, hers.client)
    with app.app_context():
        assert Approvals(context.store()).find(approval_id).state is ApprovalState.approved


def test_declined_in_the_app_goes_back_to_the_face_page(app, me):
    step = StepUp(app, me)
    approval_id = step.ask_app()
    answer(app, approval_id, me, approve=False)
    assert step.status(approval_id) == "denied"
    declined = step.finish(approval_id)
    assert declined.headers["Location"] == step.face_page
    page = step.browser.client.get(declined.headers["Location"]).get_data(as_text=True)
    assert "已在 App 中被拒绝" in page
    with app.app_context():
        (sso,) = context.sessions().list_for_person(me["id"])
    assert sso.acr == "urn:cn:gov:idp:loa:3"


def test_not_answered_yet_keeps_waiting(app, me):
    step = StepUp(app, me)
    approval_id = step.ask_app()
    early = step.finish(approval_id)
    assert early.headers["Location"] == f"/account/face/app/{approval_id}"
    assert "App 尚未确认" in step.browser.client.get(early.headers["Location"]).get_data(
        as_text=True
    )


def test_no_app_offered_without_an_enrolled_device_or_a_transaction(app):
    person = real_named(app, "17000000953", ALIVE[14])
    with app.app_context():
        db.session.get(Person, person["id"]).loa = 4
        db.session.commit()
    step = StepUp(app, person)
    assert "在 App 上确认" not in step.browser.client.get(step.face_page).get_data(as_text=True)
    refused = step.browser.client.post(
        "/account/face/app",
        data={"csrf_token": csrf_token(step.browser.client, "/account"), "txn": "no-such-txn"},
    )
    assert refused.status_code == 400


def test_the_waiting_page_goes_on_by_itself_in_chromium(app, me):
    step = StepUp(app, me)
    approval_id = step.ask_app()
    with chromium_serving(app) as (url, chromium):
        page = with_session_of(chromium, url, step.browser)
        page.goto(f"{url}/account/face/app/{approval_id}?mode=large")
        assert page.get_by_role("button", name="我已在 App 上确认").is_visible()
        answer(app, approval_id, me)  # the phone approves; the page polls and finishes
        page.wait_for_url(re.compile(rf"/signin/{re.escape(step.txn_id)}$"), timeout=10_000)
        assert page.locator('button[name="decision"]').count() > 0  # the consent page
    with app.app_context():
        raised = context.sessions().get(step.browser_session_id)
    assert raised.acr == LOA4 and {"swk", "face"} <= set(raised.amr)
