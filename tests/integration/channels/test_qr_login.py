"""QR sign-in on the web (idp/flows/qr_login.py, idp/web/qr.py) on both backends: the page
shows a code, the phone scans and approves it, the page's browser finishes it into a
session with amr swk, and from the attacker's side: approved twice, finished twice,
approved after expiry, finished by another browser, by a removed device, all fail and
open no session.

The phone's moves are made on the approval record itself (idp/authn/approvals.py), as
the app API does after checking the device's proof; tests/e2e/test_qr_browser.py plays
the app over HTTP with the reference client.
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
from typing import Any

import pytest
import segno
from flask import Flask
from joserfc.jwk import ECKey
from sqlalchemy import select

from idp import context
from idp.audit.models import AuditEvent
from idp.authn.approvals import ApprovalRefusedError, Approvals
from idp.authn.devices import Devices
from idp.db import db
from idp.flows import qr_login
from idp.oidc.clients import create_client
from idp.web.security import SSO_COOKIE
from tests.helpers import cookie, csrf_token
from tests.integration.oidc.conftest import REDIRECT, form_of, pkce, query_of

TICKET = re.compile(r'data-status-url="/qr/([^/"]+)/status"')


# -- playing the browser and the phone ------------------------------------------------------
def show_qr(client: Any, path: str = "/login?method=qr") -> str:
    """Open the QR tab; the approval id the page shows."""
    page = client.get(path)
    assert page.status_code == 200
    found = TICKET.search(page.get_data(as_text=True))
    assert found, "no QR code on the page"
    return found.group(1)


def drawn(payload: str) -> bytes:
    """`payload` as a QR code in SVG, drawn as the page's image is."""
    svg = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(
        svg, kind="svg", scale=6, border=4, dark="#000", light="#fff", title="QR"
    )
    return svg.getvalue()


def finish(client: Any, approval_id: str, **form: str) -> Any:
    token = csrf_token(client, "/login?switch=1")
    return client.post(f"/qr/{approval_id}/finish", data={"csrf_token": token, **form})


def enrol_phone(app: Flask, person_id: str, name: str = "测试手机") -> str:
    with app.app_context(), db.transaction() as session:
        return Devices(session).enrol(person_id, ECKey.generate_key("P-256"), name).id


def phone_scans(app: Flask, approval_id: str, person_id: str, device_id: str) -> None:
    with app.app_context():
        Approvals(context.store()).scan(approval_id, person_id=person_id, device_id=device_id)


def phone_answers(
    app: Flask,
    approval_id: str,
    person_id: str,
    device_id: str,
    *,
    approve: bool = True,
    amr: list[str] | None = None,
) -> None:
    with app.app_context():
        Approvals(context.store()).answer(
            approval_id,
            person_id=person_id,
            device_id=device_id,
            approve=approve,
            amr=amr or ["swk"],
        )


def approved_ticket(app: Flask, client: Any, person: dict[str, str]) -> tuple[str, str]:
    approval_id = show_qr(client)
    device_id = enrol_phone(app, person["id"])
    phone_scans(app, approval_id, person["id"], device_id)
    phone_answers(app, approval_id, person["id"], device_id)
    return approval_id, device_id


def events(app: Flask, name: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def sessions_of(app: Flask, person_id: str) -> list[Any]:
    with app.app_context():
        return context.sessions().list_for_person(person_id)


def status(client: Any, approval_id: str) -> tuple[int, str]:
    answer = client.get(f"/qr/{approval_id}/status")
    return answer.status_code, answer.json["state"]


# -- the way it should go ------------------------------------------------------------------
def test_scan_approve_finish_signs_the_browser_in_with_the_app_key(app, client, person):
    approval_id = show_qr(client)
    with app.app_context():
        shown = Approvals(context.store()).find(approval_id)
    assert shown is not None and shown.kind == "qr"
    assert shown.client_name == "统一身份认证平台" and shown.location == "本机"
    assert 100 <= shown.expires_at - time.time() <= qr_login.TTL
    assert status(client, approval_id) == (200, "pending")
    image = client.get(f"/qr/{approval_id}/image.svg")
    assert image.status_code == 200 and image.mimetype == "image/svg+xml"
    issuer = app.extensions["idp.settings"].issuer.rstrip("/")
    assert image.data == drawn(f"{issuer}/qr/{approval_id}")  # the code says exactly that

    device_id = enrol_phone(app, person["id"], "小王的手机")
    phone_scans(app, approval_id, person["id"], device_id)
    assert status(client, approval_id) == (200, "scanned")
    page = client.get(f"/login?method=qr&qr={approval_id}").get_data(as_text=True)
    assert "已扫码，请在手机上确认" in page
    phone_answers(app, approval_id, person["id"], device_id)
    assert status(client, approval_id) == (200, "approved")

    done = finish(client, approval_id)
    assert done.status_code == 303 and done.headers["Location"] == "/account"
    assert cookie(client, SSO_COOKIE)
    assert client.get("/account").status_code == 200
    [sso] = sessions_of(app, person["id"])
    assert (sso.amr, sso.channel, sso.device) == (["swk"], "web", "小王的手机")
    [event] = events(app, "person:login:succeeded")
    assert event.person_id == person["id"] and event.detail["method"] == "qr"
    assert event.detail["amr"] == ["swk"] and event.detail["device_id"] == device_id
    assert status(client, approval_id) == (200, "consumed")


def test_a_face_check_in_the_app_is_part_of_the_session(app, client, person):
    approval_id = show_qr(client)
    device_id = enrol_phone(app, person["id"])
    phone_scans(app, approval_id, person["id"], device_id)
    phone_answers(app, approval_id, person["id"], device_id, amr=["swk", "face"])
    assert finish(client, approval_id).status_code == 303
    [sso] = sessions_of(app, person["id"])
    assert sso.amr == ["swk", "face"]


def test_a_service_is_named_on_the_phone_and_gets_the_person_with_swk(app, client, person):
    with app.app_context(), db.transaction() as session:
        rp = create_client(
            session,
            name="社保系统",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code"],
            scopes=["openid", "profile"],
        )
    client_id, secret = rp.client.client_id, rp.secret
    verifier, challenge = pkce()
    start = client.get(
        "/authorize",
        query_string={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid profile",
            "state": "st",
            "nonce": "n-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    login = start.headers["Location"]
    assert login.startswith("/login") and "txn" in query_of(login)
    approval_id = show_qr(client, login + "&method=qr")
    with app.app_context():
        shown = Approvals(context.store()).find(approval_id)
    assert shown is not None and shown.client_name == "社保系统"
    assert shown.txn_id == query_of(login)["txn"] and "profile" in shown.scopes

    device_id = enrol_phone(app, person["id"])
    phone_scans(app, approval_id, person["id"], device_id)
    phone_answers(app, approval_id, person["id"], device_id)
    back = finish(client, approval_id, txn=shown.txn_id)
    assert back.status_code == 303 and back.headers["Location"] == f"/signin/{shown.txn_id}"
    consent = client.get(back.headers["Location"])  # the usual checks: consent comes next
    action, token = form_of(consent.get_data(as_text=True))
    answer = client.post(action, data={"csrf_token": token, "decision": "allow"})
    code = query_of(answer.headers["Location"])["code"]
    tokens = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        headers={
            "Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        },
    )
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    payload = tokens.json["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["amr"] == ["swk"] and claims["nonce"] == "n-1"


def test_without_script_the_button_finishes_and_an_early_press_keeps_the_same_code(
    app, client, person
):
    approval_id = show_qr(client)
    early = finish(client, approval_id, tab="org")
    assert early.status_code == 303 and cookie(client, SSO_COOKIE) is None
    location = early.headers["Location"]
    assert query_of(location) == {"method": "qr", "qr": approval_id, "tab": "org"}
    page = client.get(location).get_data(as_text=True)
    assert "尚未在手机上确认" in page and TICKET.search(page).group(1) == approval_id

    device_id = enrol_phone(app, person["id"])
    phone_scans(app, approval_id, person["id"], device_id)
    phone_answers(app, approval_id, person["id"], device_id)
    assert finish(client, approval_id).headers["Location"] == "/account"


def test_a_declined_request_says_so_and_offers_a_new_code(app, client, person):
    approval_id = show_qr(client)
    device_id = enrol_phone(app, person["id"])
    phone_scans(app, approval_id, person["id"], device_id)
    phone_answers(app, approval_id, person["id"], device_id, approve=False)
    assert status(client, approval_id) == (200, "denied")
    back = finish(client, approval_id)
    assert cookie(client, SSO_COOKIE) is None and sessions_of(app, person["id"]) == []
    page = client.get(back.headers["Location"]).get_data(as_text=True)
    assert "已在手机上拒绝本次登录" in page and "刷新二维码" in page
    assert show_qr(client) != approval_id  # the refresh link makes a new one


# -- from the attacker's side --------------------------------------------------------------
def test_a_ticket_is_approved_once_only(app, client, person):
    approval_id, device_id = approved_ticket(app, client, person)
    other_id = enrol_phone(app, person["id"], "另一部手机")
    for device, approve in (
        (device_id, True),  # the same tap again
        (device_id, False),  # changing its mind
        (other_id, True),  # another device
    ):
        with pytest.raises(ApprovalRefusedError):
            phone_answers(app, approval_id, person["id"], device, approve=approve)
    assert finish(client, approval_id).headers["Location"] == "/account"
    assert len(sessions_of(app, person["id"])) == 1


def test_a_finished_ticket_cannot_be_finished_again(app, client, person):
    approval_id, _device = approved_ticket(app, client, person)
    assert finish(client, approval_id).headers["Location"] == "/account"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    assert cookie(client, SSO_COOKIE) is None

    replay = finish(client, approval_id)
    assert replay.status_code == 303 and replay.headers["Location"].startswith("/login")
    assert cookie(client, SSO_COOKIE) is None and sessions_of(app, person["id"]) == []
    assert "二维码已使用" in client.get(replay.headers["Location"]).get_data(as_text=True)
    assert len(events(app, "person:login:succeeded")) == 1


def test_an_expired_ticket_can_neither_be_approved_nor_finished(app, client, person, monkeypatch):
    monkeypatch.setattr(qr_login, "TTL", 1)
    late = show_qr(client)
    device_id = enrol_phone(app, person["id"])
    time.sleep(1.1)
    with pytest.raises(ApprovalRefusedError):
        phone_scans(app, late, person["id"], device_id)
    with pytest.raises(ApprovalRefusedError):
        phone_answers(app, late, person["id"], device_id)
    assert finish(client, late).status_code == 303 and cookie(client, SSO_COOKIE) is None

    approved_in_time = show_qr(client)  # approved, then not finished in time
    phone_scans(app, approved_in_time, person["id"], device_id)
    phone_answers(app, approved_in_time, person["id"], device_id)
    time.sleep(1.1)
    assert status(client, approved_in_time)[1] == "expired"
    back = finish(client, approved_in_time)
    assert cookie(client, SSO_COOKIE) is None and sessions_of(app, person["id"]) == []
    assert "二维码已失效" in client.get(back.headers["Location"]).get_data(as_text=True)


def test_only_the_browser_that_showed_the_code_can_finish_it(app, client, person):
    approval_id, _device = approved_ticket(app, client, person)
    attacker = app.test_client()  # another browser: its own cookies
    assert attacker.get(f"/qr/{approval_id}/status").status_code == 404
    assert attacker.get(f"/qr/{approval_id}/image.svg").status_code == 404
    show_qr(attacker)  # it has a browser secret of its own, for its own code
    assert attacker.get(f"/qr/{approval_id}/status").status_code == 404

    stolen = finish(attacker, approval_id)
    assert stolen.status_code == 303 and cookie(attacker, SSO_COOKIE) is None
    assert sessions_of(app, person["id"]) == []
    [refused] = events(app, "person:login:failed")
    assert refused.detail["reason"] == "qr_other_browser"

    assert finish(client, approval_id).headers["Location"] == "/account"  # still the owner's
    assert len(sessions_of(app, person["id"])) == 1


def test_a_copied_browser_cookie_name_without_the_secret_gets_nothing(app, client, person):
    approval_id, _device = approved_ticket(app, client, person)
    forger = app.test_client()
    forger.set_cookie("idp_qr", "x" * 43)
    assert forger.get(f"/qr/{approval_id}/status").status_code == 404
    assert cookie(forger, SSO_COOKIE) is None
    finish(forger, approval_id)
    assert cookie(forger, SSO_COOKIE) is None and sessions_of(app, person["id"]) == []


def test_a_device_removed_after_approving_opens_nothing(app, client, person):
    approval_id, device_id = approved_ticket(app, client, person)
    with app.app_context(), db.transaction() as session:
        assert Devices(session).remove(person["id"], device_id) is not None
    finish(client, approval_id)
    assert cookie(client, SSO_COOKIE) is None and sessions_of(app, person["id"]) == []


def test_codes_are_rationed_per_address(app, client, monkeypatch):
    monkeypatch.setattr(qr_login, "SHOWN_PER_MINUTE", 2)
    show_qr(client)
    show_qr(client)
    page = client.get("/login?method=qr").get_data(as_text=True)
    assert TICKET.search(page) is None and "请求二维码过于频繁" in page


def test_a_code_for_a_sign_in_that_is_gone_is_not_made(client):
    page = client.get("/login?method=qr&txn=no-such-transaction").get_data(as_text=True)
    assert TICKET.search(page) is None and "本次登录已超时" in page


def test_a_phone_camera_opening_the_code_is_told_to_use_the_app(client):
    page = client.get("/qr/anything")
    assert page.status_code == 200 and "请使用官方 App 扫描此二维码" in page.get_data(as_text=True)
