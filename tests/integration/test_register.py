"""Citizen registration (phone + SMS code) and the real-name step, with the connectors'
fakes in-process. The same flows against the reference services run in
tests/integration/test_register_reference.py."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from connectors import synthetic
from idp import context
from idp.accounts.models import Person
from idp.audit.models import AuditEvent
from idp.db import db
from realname.models import AgreementAcceptance
from tests.helpers import csrf_token

DATA = synthetic.generate()
ALIVE = [p for p in DATA.persons if p.status == "alive"]
DECEASED = next(p for p in DATA.persons if p.status == "deceased")
CANCELLED = next(p for p in DATA.persons if p.status == "cancelled")
PASSWORD = "plum-blossom-river-88"
NOT_MATCHED = "姓名与证件号码未通过人口信息库核验"  # one answer for every negative outcome


def sms_code(app, phone: str) -> str:
    with app.app_context():
        message = context.connectors().sms.outbox(phone)[-1]
    return message.params["code"]


def texts_to(app, phone: str) -> list:
    with app.app_context():
        return context.connectors().sms.outbox(phone)


def start(client, phone: str, agreement: bool = True):
    data = {"phone": phone, "csrf_token": csrf_token(client, "/register")}
    if agreement:
        data["agreement"] = "yes"
    return client.post("/register", data=data)


def register(app, client, phone: str, username: str | None = None):
    response = start(client, phone)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    confirm_url = response.headers["Location"]
    return client.post(
        confirm_url,
        data={
            "csrf_token": csrf_token(client, confirm_url),
            "code": sms_code(app, phone),
            "username": username or "",
            "password": PASSWORD,
        },
    )


def verify_identity(client, name: str, id_number: str):
    return client.post(
        "/account/realname",
        data={
            "csrf_token": csrf_token(client, "/account/realname"),
            "name": name,
            "id_type": "resident",
            "id_number": id_number,
        },
    )


def after(client, response) -> str:
    """The page a POST's redirect leads to (every POST answers with one)."""
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return client.get(response.headers["Location"]).get_data(as_text=True)


def person_by_phone(app, phone: str) -> Person | None:
    with app.app_context():
        return context.accounts().find_by_login(db.session, phone)


def test_register_with_sms_then_real_name_reaches_loa3(app):
    client = app.test_client()
    done = register(app, client, "17000000401", username="citizen1")
    assert done.status_code == 303 and done.headers["Location"] == "/account/realname"
    person = person_by_phone(app, "17000000401")
    assert person.loa == 2 and person.phone_verified
    with app.app_context():
        [accepted] = db.session.scalars(select(AgreementAcceptance)).all()
        assert accepted.version == "2026-11" and accepted.channel == "web"

    verified = verify_identity(client, ALIVE[0].name, ALIVE[0].id_number)
    assert verified.status_code == 303
    person = person_by_phone(app, "17000000401")
    assert person.loa == 3 and person.name == ALIVE[0].name and person.id_type == "resident"
    assert ALIVE[0].id_number.encode() not in person.id_number_sealed


def test_id_number_signs_in_after_real_name(app):
    client = app.test_client()
    register(app, client, "17000000402")
    verify_identity(client, ALIVE[1].name, ALIVE[1].id_number)
    fresh = app.test_client()
    token = csrf_token(fresh, "/login")
    response = fresh.post(
        "/login",
        data={"username": ALIVE[1].id_number.lower(), "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/account"


def test_same_id_number_twice_is_refused_with_the_recovery_path(app):
    first, second = app.test_client(), app.test_client()
    register(app, first, "17000000403")
    verify_identity(first, ALIVE[2].name, ALIVE[2].id_number)
    register(app, second, "17000000404")
    refused = verify_identity(second, ALIVE[2].name, ALIVE[2].id_number)
    html = after(second, refused)
    assert NOT_MATCHED in html and "如该身份已有账号" in html  # the same words as no match
    assert "0403" not in html  # never the other account's phone, not even masked
    assert "login?switch=1" in html and "/recover" in html
    assert person_by_phone(app, "17000000404").loa == 2  # nothing changed
    # what this person typed comes back in the field (to correct it), nowhere else
    assert html.count(ALIVE[2].id_number) == 1
    assert f'name="id_number" type="text" value="{ALIVE[2].id_number}"' in html


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong_name", NOT_MATCHED),
        ("deceased", NOT_MATCHED),
        ("cancelled", NOT_MATCHED),
        ("bad_check_digit", "校验码"),
    ],
)
def test_real_name_refusals_change_nothing(app, case, message):
    client = app.test_client()
    register(app, client, "17000000405")
    if case == "wrong_name":
        response = verify_identity(client, "测试某某", ALIVE[3].id_number)
    elif case == "deceased":
        response = verify_identity(client, DECEASED.name, DECEASED.id_number)
    elif case == "cancelled":
        response = verify_identity(client, CANCELLED.name, CANCELLED.id_number)
    else:
        bad = ALIVE[3].id_number[:-1] + ("0" if ALIVE[3].id_number[-1] != "0" else "1")
        response = verify_identity(client, ALIVE[3].name, bad)
    assert message in after(client, response)
    person = person_by_phone(app, "17000000405")
    assert person.loa == 2 and person.id_number_index is None


def test_registry_down_says_try_later_and_changes_nothing(app):
    client = app.test_client()
    register(app, client, "17000000406")
    with app.app_context():
        context.connectors().population.available = False
    try:
        response = verify_identity(client, ALIVE[4].name, ALIVE[4].id_number)
    finally:
        with app.app_context():
            context.connectors().population.available = True
    assert "稍后再试" in after(client, response)
    assert person_by_phone(app, "17000000406").loa == 2


def test_sms_code_cannot_be_reused(app):
    client = app.test_client()
    response = start(client, "17000000407")
    url = response.headers["Location"]
    code = sms_code(app, "17000000407")
    ok = client.post(
        url, data={"csrf_token": csrf_token(client, url), "code": code, "password": PASSWORD}
    )
    assert ok.status_code == 303
    again = app.test_client()
    replay = again.post(
        url, data={"csrf_token": csrf_token(again, "/register"), "code": code, "password": PASSWORD}
    )
    assert replay.status_code == 303 and replay.headers["Location"] == url
    assert "注册完成" in again.get(url).get_data(as_text=True)  # the step is done
    with app.app_context():
        assert len(db.session.scalars(select(Person)).all()) == 1


def test_sms_code_cannot_be_guessed_past_the_limit(app):
    client = app.test_client()
    url = start(client, "17000000408").headers["Location"]
    code = sms_code(app, "17000000408")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for tries_left in (4, 3, 2, 1):
        page = client.post(
            url, data={"csrf_token": csrf_token(client, url), "code": wrong, "password": PASSWORD}
        )
        assert f"还可尝试 {tries_left} 次" in after(client, page)
    client.post(
        url, data={"csrf_token": csrf_token(client, url), "code": wrong, "password": PASSWORD}
    )
    late = client.post(
        url, data={"csrf_token": csrf_token(client, url), "code": code, "password": PASSWORD}
    )
    assert "验证码已失效" in after(client, late)  # the right code no longer works
    assert person_by_phone(app, "17000000408") is None


def test_sms_code_expires(app, monkeypatch):
    client = app.test_client()
    url = start(client, "17000000409").headers["Location"]
    code = sms_code(app, "17000000409")
    from idp.accounts import sms_codes

    later = sms_codes.time.time() + sms_codes.CODE_TTL + 1
    monkeypatch.setattr(sms_codes.time, "time", lambda: later)
    response = client.post(
        url, data={"csrf_token": csrf_token(client, url), "code": code, "password": PASSWORD}
    )
    assert "验证码已失效" in after(client, response)
    assert person_by_phone(app, "17000000409") is None


def test_codes_are_rate_limited_per_phone(app):
    client = app.test_client()
    assert start(client, "17000000410").status_code == 303
    again = start(client, "17000000410")  # within a minute
    assert "请求验证码次数过多" in after(client, again)


def test_agreement_must_be_accepted_and_is_published(app):
    client = app.test_client()
    response = start(client, "17000000411", agreement=False)
    assert "请阅读并同意实名注册协议" in after(client, response)
    assert texts_to(app, "17000000411") == []
    page = client.get("/agreement").get_data(as_text=True)
    assert "自然人实名注册协议" in page and 'data-version="2026-11"' in page
    assert "Real-name registration agreement" in client.get("/agreement?lang=en").get_data(
        as_text=True
    )


def test_existing_phone_gets_no_second_account(app, person):
    client = app.test_client()
    response = register(app, client, person["phone"])
    assert response.headers["Location"].startswith("/login")
    with app.app_context():
        assert len(db.session.scalars(select(Person)).all()) == 1


def test_no_unmasked_numbers_in_logs_or_audit(app, caplog):
    client = app.test_client()
    register(app, client, "17000000412")
    verify_identity(client, ALIVE[5].name, ALIVE[5].id_number)
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent)).all()
        text = " ".join(str(r.detail) + (r.actor or "") for r in rows)
    for secret in ("17000000412", ALIVE[5].id_number):
        assert secret not in text
        assert secret not in caplog.text
    assert re.search(r"1101\*{10}\d{3}[\dX]", text)


def test_confirm_page_names_the_phone_from_the_record_not_the_url(app):
    client = app.test_client()
    url = start(client, "17000000413").headers["Location"]
    page = client.get(url + "?to=EVIL-TEXT").get_data(as_text=True)
    assert "验证码已发送至 170****0413" in page
    assert "已发送至 EVIL" not in page
