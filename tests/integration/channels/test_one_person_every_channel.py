"""一次认证、多点互联: one synthetic person and one department, whose web RP, kiosk clients
and hotline desk are registered with the same sector, signed in six ways — web password,
web QR approved on the app, a kiosk's device grant approved on the app, a kiosk's ID card
and face, a hotline CIBA request approved on the app, a hotline SMS code read back —
get the same `sub` every time, each with the acr/amr that way actually achieved.

(The device grant and CIBA driven by npm openid-client against `idp serve` are in
tests/e2e/test_device_openid_client.py and test_ciba_openid_client.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.integration.channels import ciba_support as hotline
from tests.integration.channels import device_support as device
from tests.integration.channels import kiosk_support as kiosk
from tests.integration.channels.test_ciba_sms import send, texts, verify
from tests.integration.channels.test_qr_login import (
    enrol_phone,
    finish,
    phone_answers,
    phone_scans,
    show_qr,
)
from tests.integration.oidc.conftest import Browser, form_of, pkce, query_of, redeem

LOA = "urn:cn:gov:idp:loa:"
PHONE = "13800990017"  # synthetic


def _web_by_qr(app: Flask, rp: Any, person: dict[str, str]) -> dict[str, Any]:
    """A fresh browser: the sign-in page's QR, scanned and approved on the app."""
    browser = app.test_client()
    verifier, challenge = pkce()
    start = browser.get(
        "/authorize",
        query_string={
            "response_type": "code",
            "client_id": rp.client_id,
            "redirect_uri": rp.redirect_uri,
            "scope": "openid profile",
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    login = start.headers["Location"]
    approval_id = show_qr(browser, login + "&method=qr")
    phone = enrol_phone(app, person["id"])
    phone_scans(app, approval_id, person["id"], phone)
    phone_answers(app, approval_id, person["id"], phone)
    back = browser.get(finish(browser, approval_id, txn=query_of(login)["txn"]).headers["Location"])
    if back.status_code == 200:  # consent, if the remembered one does not cover it
        action, token = form_of(back.get_data(as_text=True))
        back = browser.post(action, data={"csrf_token": token, "decision": "allow"})
    code = query_of(back.headers["Location"])["code"]
    return kiosk.claims_of(app, redeem(browser, rp, code, verifier).json["id_token"])


def _device_grant(app: Flask, person: dict[str, str]) -> dict[str, Any]:
    rp = device.register_kiosk(app, sector_identifier=kiosk.SECTOR, scopes=["openid", "profile"])
    at_kiosk = device.Kiosk(app, rp)
    codes = at_kiosk.codes(scope="openid profile")
    device.on_the_app(app, person["id"], codes["user_code"])
    tokens = at_kiosk.poll_after_interval(codes["device_code"])
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    return kiosk.claims_of(app, tokens.json["id_token"])


def _card_and_face(app: Flask) -> dict[str, Any]:
    reader = kiosk.register_kiosk(app)
    tokens = reader.sign_in(kiosk.ME, kiosk.ME)
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    return kiosk.claims_of(app, tokens.json["id_token"])


def _ciba(app: Flask, desk: hotline.Desk, person: dict[str, str], *, sms: bool) -> dict[str, Any]:
    auth_req_id = hotline.started(
        app, desk, scope="openid profile", login_hint=PHONE, binding_message="工单 0017"
    )
    if sms:  # the caller has no app: a code to their phone, read back to the agent
        assert send(app, desk, auth_req_id).status_code == 200
        assert verify(app, desk, auth_req_id, texts(app, PHONE)[-1]).status_code == 200
    else:
        hotline.answer(app, auth_req_id, device_id=hotline.enrol_device(app, person["id"]))
    tokens = hotline.poll(app, desk, auth_req_id)
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    return kiosk.claims_of(app, tokens.json["id_token"])


def test_one_person_is_the_same_sub_on_every_channel_at_the_level_each_reached(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    device.short_interval(monkeypatch)
    person = kiosk.real_named(app, kiosk.ME, PHONE)  # real-named: loa:3
    web = kiosk.register_rp(app)  # the department's web RP, sector kiosk.SECTOR
    desk = hotline.register_desk(app, sector_identifier=kiosk.SECTOR, scopes=["openid", "profile"])

    code, verifier = Browser(app.test_client(), person).code_for(web)
    seen = {"web password": kiosk.claims_of(app, redeem(app.test_client(), web, code, verifier)
                                            .json["id_token"])}  # fmt: skip
    seen["web QR"] = _web_by_qr(app, web, person)
    seen["kiosk device grant"] = _device_grant(app, person)
    seen["hotline CIBA on the app"] = _ciba(app, desk, person, sms=False)
    seen["kiosk card + face"] = _card_and_face(app)  # the person is loa:4 from now on
    seen["hotline SMS read-back"] = _ciba(app, desk, person, sms=True)

    subs = {how: claims["sub"] for how, claims in seen.items()}
    assert len(set(subs.values())) == 1, subs
    assert subs["web password"] not in (person["id"], PHONE)  # pairwise, not an identifier
    reached = {how: (claims["acr"], claims["amr"]) for how, claims in seen.items()}
    assert reached == {
        "web password": (f"{LOA}3", ["pwd"]),
        "web QR": (f"{LOA}3", ["swk"]),
        "kiosk device grant": (f"{LOA}3", ["swk"]),
        "hotline CIBA on the app": (f"{LOA}3", ["swk"]),
        "kiosk card + face": (f"{LOA}4", ["sc", "face"]),
        # a loa:4 person, yet a code read back on the phone reaches loa:3 only
        "hotline SMS read-back": (f"{LOA}3", ["sms", "tel"]),
    }
