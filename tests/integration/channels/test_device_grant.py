"""The device authorization grant (RFC 8628) at the token endpoint, against real Redis and
databases (embedded and servers): a kiosk asks for codes, the person approves on the app,
the kiosk's poll gets tokens for the same person (the same pairwise `sub` as the
department's web RP), once; and from the attacker's side: polling too fast, another
client's code, a denied, expired or already redeemed request, an approval that does not
reach the level asked for."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from flask import Flask

from idp import context
from idp.accounts.sessions import SessionStore
from idp.audit.events import Event
from idp.db import db
from idp.oidc.clients import create_client
from idp.oidc.device import DeviceAuthorizationEndpoint
from idp.oidc.features import DEVICE_CODE_GRANT
from tests.integration.channels.device_support import (
    SECTOR,
    Kiosk,
    approval_for,
    audit_rows,
    claims_of,
    on_the_app,
    register_kiosk,
    short_interval,
    stored_interval,
)
from tests.integration.oidc.conftest import REDIRECT, Browser, RegisteredClient, redeem

LOA2 = "urn:cn:gov:idp:loa:2"
USER_CODE = re.compile(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}")


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    short_interval(monkeypatch)


@pytest.fixture
def kiosk(app: Flask) -> Kiosk:
    return Kiosk(app, register_kiosk(app))


def error_of(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json["error"]


def web_rp(app: Flask) -> RegisteredClient:
    """The department's web system, in the kiosk's sector."""
    with app.app_context(), db.transaction() as session:
        new = create_client(
            session, name="社保网厅", redirect_uris=[REDIRECT], scopes=["openid"],
            sector_identifier=SECTOR,
        )  # fmt: skip
    return RegisteredClient(new.client.client_id, new.secret, REDIRECT)


# -- the codes -------------------------------------------------------------------------------
def test_the_kiosk_gets_codes_to_show_and_to_poll_with(app: Flask, kiosk: Kiosk) -> None:
    answer = kiosk.start()
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    codes = answer.json
    issuer = app.extensions["idp.settings"].issuer
    assert USER_CODE.fullmatch(codes["user_code"])
    assert codes["verification_uri"] == f"{issuer}/device"
    assert codes["verification_uri_complete"] == f"{issuer}/device?user_code={codes['user_code']}"
    assert (codes["expires_in"], codes["interval"]) == (600, 1)
    assert len(codes["device_code"]) >= 43
    # only the device code's digest is kept
    redis = app.extensions["idp.store"].client
    stored = b"".join(redis.get(k) or b"" for k in redis.keys("idp:*"))
    assert codes["device_code"].encode() not in stored
    assert [r.detail["client_id"] for r in audit_rows(app, Event.device_authorization_requested)]


def test_what_the_device_endpoint_refuses(app: Flask, kiosk: Kiosk) -> None:
    assert error_of(kiosk.start(scope="openid idcard")) == (400, "invalid_scope")
    assert error_of(kiosk.start(scope="")) == (400, "invalid_scope")
    stranger = app.test_client().post(
        "/device_authorization", data={"scope": "openid", "client_id": "no-such-client"}
    )
    assert error_of(stranger) == (400, "invalid_client")  # 401 when sent in Authorization
    web = Kiosk(app, web_rp(app))  # not registered for the device grant
    assert error_of(web.start(scope="openid")) == (400, "unauthorized_client")
    twice = app.test_client().post(
        "/device_authorization",
        data=f"client_id={kiosk.rp.client_id}&scope=openid&scope=profile",
        content_type="application/x-www-form-urlencoded",
    )
    assert error_of(twice) == (400, "invalid_request")


# -- approved on the app -------------------------------------------------------------------------
def test_approved_on_the_app_the_kiosk_gets_tokens_for_the_same_person_once(
    app: Flask, kiosk: Kiosk, person: dict[str, str]
) -> None:
    codes = kiosk.codes()
    assert error_of(kiosk.poll(codes["device_code"])) == (400, "authorization_pending")
    on_the_app(app, person["id"], codes["user_code"])

    answer = kiosk.poll_after_interval(codes["device_code"])
    assert answer.status_code == 200, answer.json
    tokens = answer.json
    assert set(tokens["scope"].split()) == {"openid", "profile", "phone", "offline_access"}
    assert tokens["refresh_token"]
    claims = claims_of(app, tokens["id_token"])
    assert (claims["aud"], claims["acr"], claims["amr"]) == (kiosk.rp.client_id, LOA2, ["swk"])

    # the same person as the department's web system sees, signed in by password
    web = web_rp(app)
    code, verifier = Browser(app.test_client(), person).code_for(web)
    web_token = redeem(app.test_client(), web, code, verifier).json["id_token"]
    assert claims["sub"] == claims_of(app, web_token)["sub"]

    # a kiosk session of the person, named after the phone that approved it
    with app.app_context():
        sessions: SessionStore = context.sessions()
        kiosk_sessions = [s for s in sessions.list_for_person(person["id"]) if s.channel == "kiosk"]
    assert [(s.device, s.amr, s.idle) for s in kiosk_sessions] == [("张三的手机", ["swk"], 120)]

    again = kiosk.poll_after_interval(codes["device_code"])
    assert error_of(again) == (400, "invalid_grant")
    assert [r.detail["amr"] for r in audit_rows(app, Event.device_tokens_issued)] == [["swk"]]


def test_face_on_the_app_is_in_the_tokens(app: Flask, kiosk: Kiosk, person: dict[str, str]) -> None:
    codes = kiosk.codes()
    on_the_app(app, person["id"], codes["user_code"], amr=["swk", "face"])
    claims = claims_of(app, kiosk.poll(codes["device_code"]).json["id_token"])
    assert claims["amr"] == ["swk", "face"]
    assert claims["acr"] == LOA2  # the person's level caps what a face check shows


def test_a_level_the_approval_cannot_reach_is_access_denied_saying_why(
    app: Flask, kiosk: Kiosk, person: dict[str, str]
) -> None:
    codes = kiosk.codes(acr_values="urn:cn:gov:idp:loa:4")
    assert approval_level(app, codes) == 4  # the app shows what is asked
    on_the_app(app, person["id"], codes["user_code"])
    answer = kiosk.poll(codes["device_code"])
    assert error_of(answer) == (400, "access_denied")
    assert answer.json["error_description"].startswith("the approval does not satisfy")
    assert "id_token" not in answer.json


def approval_level(app: Flask, codes: dict[str, Any]) -> int:
    found = approval_for(app, codes["user_code"])
    assert found is not None
    return found.level


# -- from the attacker's side ----------------------------------------------------------------------
def test_polling_faster_than_the_interval_slows_down_more_each_time(
    app: Flask, kiosk: Kiosk
) -> None:
    codes = kiosk.codes()
    device_code = codes["device_code"]
    assert error_of(kiosk.poll(device_code)) == (400, "authorization_pending")
    assert error_of(kiosk.poll_after_interval(device_code)) == (400, "authorization_pending")
    assert stored_interval(app, device_code) == 1
    first = kiosk.poll(device_code)
    assert error_of(first) == (400, "slow_down")
    assert "every 6 seconds" in first.json["error_description"]
    assert error_of(kiosk.poll_after_interval(device_code)) == (400, "slow_down")  # 1 s < 6 s
    assert stored_interval(app, device_code) == 11  # RFC 8628 3.5: 5 s more each time


def test_another_clients_device_code_is_an_unknown_one(app: Flask, kiosk: Kiosk) -> None:
    codes = kiosk.codes()
    thief = Kiosk(app, register_kiosk(app, public=False, name="另一台终端"))
    assert error_of(thief.poll(codes["device_code"])) == (400, "invalid_grant")
    assert error_of(thief.poll("no-such-code")) == (400, "invalid_grant")
    # the thief's polls did not count as the kiosk's
    assert error_of(kiosk.poll(codes["device_code"])) == (400, "authorization_pending")
    assert error_of(kiosk.poll_after_interval("")) == (400, "invalid_request")


def test_denied_on_the_app_is_access_denied(
    app: Flask, kiosk: Kiosk, person: dict[str, str]
) -> None:
    codes = kiosk.codes()
    on_the_app(app, person["id"], codes["user_code"], approve=False)
    for _ in range(2):
        answer = kiosk.poll_after_interval(codes["device_code"])
        assert error_of(answer) == (400, "access_denied")
    with app.app_context():
        kiosk_sessions = [s for s in context.sessions().list_for_person(person["id"])]
    assert kiosk_sessions == []


def test_after_expiry_expired_token_and_no_approval(
    app: Flask, kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DeviceAuthorizationEndpoint, "EXPIRES_IN", 2)
    codes = kiosk.codes()
    assert codes["expires_in"] == 2
    time.sleep(2.1)
    assert approval_for(app, codes["user_code"]) is None  # nothing left for the app to scan
    assert error_of(kiosk.poll(codes["device_code"])) == (400, "expired_token")


def test_a_client_not_registered_for_the_grant_cannot_poll(app: Flask, kiosk: Kiosk) -> None:
    codes = kiosk.codes()
    web = web_rp(app)
    answer = app.test_client().post(
        "/token",
        data={"grant_type": DEVICE_CODE_GRANT, "device_code": codes["device_code"]},
        headers=web.basic,
    )
    assert error_of(answer) == (400, "unauthorized_client")
