"""One person, every session (issue 13, item 6): the account centre lists the person's
sessions on every channel and their app devices, ends any or all of them, and "sign out
everywhere" reaches every RP (a real back-channel endpoint on loopback) and leaves no
refresh token of the person alive, offline ones included."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc.jwk import ECKey
from sqlalchemy import select

from idp import context
from idp.audit import AuditEvent
from idp.authn.devices import Devices
from idp.db import db
from idp.oidc import backchannel
from tests.helpers import csrf_token
from tests.integration.channels.test_frontchannel_logout import registered
from tests.integration.oidc.conftest import Browser, redeem
from tests.integration.oidc.test_backchannel_logout import (
    RelyingParties,
    another_person,
    check_logout_token,
    segments,
)

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def rps(app, monkeypatch) -> Iterator[RelyingParties]:
    """Back-channel logout endpoints: a real HTTP server on loopback, in a thread."""
    monkeypatch.setattr(backchannel, "BACKOFF_SECONDS", 0.05)
    parties = RelyingParties()
    yield parties
    parties.close()


def signed_in(app, person: dict[str, str], *, user_agent: str = CHROME_ON_WINDOWS, ip: str = ""):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    if ip:
        client.environ_base["REMOTE_ADDR"] = ip
    browser = Browser(client, person)
    browser.sign_in()
    return browser


def session_elsewhere(app, person_id: str, channel: str, device: str | None, ip: str) -> str:
    """A session opened on another channel (what the app, kiosk and hotline parts make)."""
    with app.app_context():
        _, sso = context.sessions().create(
            person_id=person_id,
            channel=channel,
            amr=["swk"],
            acr="urn:cn:gov:idp:loa:3",
            ip=ip,
            user_agent=None,
            device=device,
        )
    return sso.id


def rows(html: str, attribute: str) -> dict[str, str]:
    """Each table row's id (data-session, data-device) and its text, tags stripped."""
    found = re.findall(rf'<tr {attribute}="([^"]+)"[^>]*>(.*?)</tr>', html, re.S)
    return {key: " ".join(re.sub(r"<[^>]+>", " ", row).split()) for key, row in found}


def tokens_for(app, browser: Browser, rp, scope: str) -> dict[str, Any]:
    code, verifier = browser.code_for(rp, scope=scope)
    response = redeem(app.test_client(), rp, code, verifier)
    assert response.status_code == 200, response.json
    assert ("refresh_token" in response.json) == ("offline_access" in scope)
    return {**response.json, "claims": segments(response.json["id_token"])[1]}


def introspect(app, rp, token: str) -> dict[str, Any]:
    response = app.test_client().post("/introspect", headers=rp.basic, data={"token": token})
    assert response.status_code == 200
    return response.json


def audit(app, event: str) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.seq)
        return list(db.session.scalars(query))


def test_every_channel_is_listed_with_device_place_and_this_one_marked(app, person):
    web = signed_in(app, person, ip="202.96.128.86")
    phone = signed_in(app, person, user_agent=SAFARI_ON_IPHONE, ip="61.135.169.121")
    app_id = session_elsewhere(app, person["id"], "app", "张三的华为手机", "114.114.114.114")
    kiosk_id = session_elsewhere(app, person["id"], "kiosk", "市民中心 3 号终端", "10.1.2.3")
    hotline_id = session_elsewhere(app, person["id"], "hotline", None, "127.0.0.1")
    bob = another_person(app)
    session_elsewhere(app, bob["id"], "web", None, "8.8.8.8")

    html = web.client.get("/account").get_data(as_text=True)
    listed = rows(html, "data-session")
    assert len(listed) == 5  # the person's, and only theirs
    mine = re.search(r'data-session="([0-9a-f]+)" class="current"', html).group(1)
    assert "Windows 上的 Chrome" in listed[mine] and "网上办事大厅" in listed[mine]
    assert "广东省" in listed[mine] and "当前设备" in listed[mine]
    (phone_row,) = [row for key, row in listed.items() if "iOS" in row]
    assert "iOS 上的 Mobile Safari" in phone_row and "北京" in phone_row
    assert "当前设备" not in phone_row
    assert "张三的华为手机" in listed[app_id] and "移动端" in listed[app_id]
    assert "江苏省" in listed[app_id]
    assert "市民中心 3 号终端" in listed[kiosk_id] and "自助终端" in listed[kiosk_id]
    assert "内网" in listed[kiosk_id]  # a private address says no more than that
    assert "服务热线" in listed[hotline_id] and "未知设备" in listed[hotline_id]

    english = rows(phone.client.get("/account?lang=en").get_data(as_text=True), "data-session")
    assert "Chrome on Windows" in english[mine] and "Online service hall" in english[mine]
    assert "Kiosk" in english[kiosk_id] and "Hotline" in english[hotline_id]


def test_ending_a_kiosk_session_from_the_web(app, person):
    web = signed_in(app, person)
    kiosk_id = session_elsewhere(app, person["id"], "kiosk", "市民中心 3 号终端", "10.1.2.3")
    response = web.client.post(
        f"/account/sessions/{kiosk_id}/end",
        data={"csrf_token": csrf_token(web.client, "/account")},
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("#sessions")
    with app.app_context():
        assert context.sessions().get(kiosk_id) is None
    assert web.client.get("/account").status_code == 200


def enrol(app, person_id: str, name: str) -> str:
    with app.app_context():
        device = Devices(db.session).enrol(person_id, ECKey.generate_key("P-256"), name)
        db.session.commit()
        return device.id


def test_app_devices_are_listed_and_removed_with_an_audit_row(app, person):
    web = signed_in(app, person)
    phone = enrol(app, person["id"], "张三的华为手机")
    tablet = enrol(app, person["id"], "家里的平板")
    devices = rows(web.client.get("/account").get_data(as_text=True), "data-device")
    assert set(devices) == {phone, tablet}
    assert "张三的华为手机" in devices[phone] and "从未使用" in devices[phone]

    refused = web.client.post(f"/account/devices/{phone}/remove")  # no CSRF token
    assert refused.status_code == 400
    response = web.client.post(
        f"/account/devices/{phone}/remove",
        data={"csrf_token": csrf_token(web.client, "/account")},
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("#devices")
    with app.app_context():
        assert Devices(db.session).get(phone) is None  # its next proof finds no key
        assert [d.id for d in Devices(db.session).of(person["id"])] == [tablet]
    (row,) = audit(app, "person:app_device:removed")
    assert row.person_id == person["id"] and row.detail["device_id"] == phone


def test_nobody_removes_another_persons_device(app, person):
    bob = another_person(app)
    bobs_phone = enrol(app, bob["id"], "Bob's phone")
    web = signed_in(app, person)
    web.client.post(
        f"/account/devices/{bobs_phone}/remove",
        data={"csrf_token": csrf_token(web.client, "/account")},
    )
    with app.app_context():
        assert Devices(db.session).get(bobs_phone) is not None
    assert audit(app, "person:app_device:removed") == []


def test_sign_out_everywhere_reaches_every_rp_and_kills_every_refresh_token(app, person, rps):
    social = registered(app, name="社保系统", backchannel_logout_uri=rps.uri("social"))
    fund = registered(app, name="公积金")
    laptop, phone = signed_in(app, person), signed_in(app, person, user_agent=SAFARI_ON_IPHONE)
    kiosk_id = session_elsewhere(app, person["id"], "kiosk", "市民中心 3 号终端", "10.1.2.3")
    issued = {
        "laptop": tokens_for(app, laptop, social, "openid"),
        "phone": tokens_for(app, phone, social, "openid offline_access"),
        "fund": tokens_for(app, phone, fund, "openid offline_access"),
    }
    rp_of = {"laptop": social, "phone": social, "fund": fund}
    bob = Browser(app.test_client(), another_person(app))
    bobs = tokens_for(app, bob, social, "openid offline_access")
    for name, tokens in issued.items():
        assert introspect(app, rp_of[name], tokens["access_token"])["active"] is True, name

    response = laptop.client.post(
        "/account/sessions/end-all", data={"csrf_token": csrf_token(laptop.client, "/account")}
    )
    assert response.status_code == 303

    # the RP hears of both sessions it got tokens in, each with that session's own sid
    posts = [rps.next(), rps.next()]
    names = _match(posts, issued)
    assert sorted(names) == ["laptop", "phone"]
    for post, name in zip(posts, names, strict=True):
        check_logout_token(app, post, social, issued[name]["claims"])  # JWKS, events, sid, sub
    assert rps.rest() == []  # nothing for bob's session

    for name, tokens in issued.items():
        assert introspect(app, rp_of[name], tokens["access_token"]) == {"active": False}, name
        if "refresh_token" in tokens:  # offline_access ones, which outlive a plain sign-out
            assert introspect(app, rp_of[name], tokens["refresh_token"]) == {"active": False}
    assert introspect(app, social, bobs["refresh_token"])["active"] is True
    assert bob.client.get("/account").status_code == 200
    for browser in (laptop, phone):
        assert browser.client.get("/account").status_code == 303
    with app.app_context():
        assert context.sessions().list_for_person(person["id"]) == []
        assert context.sessions().get(kiosk_id) is None
    (revoked,) = audit(app, "person:tokens:revoked")
    assert revoked.detail["reason"] == "signed_out_everywhere"


def _match(posts, issued) -> list[str]:
    """Which issued ID token each Logout Token answers (by its sid)."""
    by_sid = {tokens["claims"]["sid"]: name for name, tokens in issued.items()}
    return [by_sid[segments(post.token)[1]["sid"]] for post in posts]


def test_a_forged_sign_out_everywhere_changes_nothing(app, person):
    rp = registered(app)
    laptop, phone = signed_in(app, person), signed_in(app, person)
    tokens = tokens_for(app, phone, rp, "openid offline_access")
    forged = laptop.client.post("/account/sessions/end-all")  # no CSRF token
    assert forged.status_code == 400
    wrong = laptop.client.post("/account/sessions/end-all", data={"csrf_token": "forged"})
    assert wrong.status_code == 400
    for browser in (laptop, phone):
        assert browser.client.get("/account").status_code == 200
    assert introspect(app, rp, tokens["refresh_token"])["active"] is True
    assert audit(app, "person:session:ended") == []


def test_sign_out_everywhere_else_keeps_this_session_and_its_tokens(app, person):
    rp = registered(app)
    laptop, phone = signed_in(app, person), signed_in(app, person)
    mine = tokens_for(app, laptop, rp, "openid offline_access")
    theirs = tokens_for(app, phone, rp, "openid offline_access")
    laptop.client.post(
        "/account/sessions/end-others", data={"csrf_token": csrf_token(laptop.client, "/account")}
    )
    assert laptop.client.get("/account").status_code == 200
    assert phone.client.get("/account").status_code == 303
    assert introspect(app, rp, mine["refresh_token"])["active"] is True
    assert introspect(app, rp, theirs["refresh_token"]) == {"active": False}  # offline too
