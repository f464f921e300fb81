"""Sign-in by SMS code (idp/flows/sms_login.py, the sign-in page's 短信验证码 tab) on both
backends: a session with amr sms capped at loa:3, no account enumeration, tries that run
out, a code for another number, a code used twice."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from sqlalchemy import select

from idp import context
from idp.audit.models import AuditEvent
from idp.db import db
from idp.oidc.clients import create_client
from idp.web.security import SSO_COOKIE
from tests.helpers import cookie, csrf_token
from tests.integration.oidc.conftest import REDIRECT, form_of, query_of


def texts_to(app: Flask, phone: str) -> list[Any]:
    with app.app_context():
        return list(context.connectors().sms.outbox(phone))


def ask_code(client: Any, phone: str, **form: str) -> Any:
    token = csrf_token(client, "/login?method=sms&switch=1")
    return client.post("/login/sms", data={"phone": phone, "csrf_token": token, **form})


def flow_of(answer: Any) -> str:
    assert answer.status_code == 303
    return query_of(answer.headers["Location"])["sms"]


def send_code(client: Any, flow_id: str, code: str, **form: str) -> Any:
    token = csrf_token(client, f"/login?method=sms&sms={flow_id}&switch=1")
    return client.post(f"/login/sms/{flow_id}", data={"code": code, "csrf_token": token, **form})


def last_code(app: Flask, phone: str) -> str:
    return str(texts_to(app, phone)[-1].params["code"])


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def events(app: Flask, name: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def sessions_of(app: Flask, person_id: str) -> list[Any]:
    with app.app_context():
        return context.sessions().list_for_person(person_id)


def another_person(app: Flask) -> dict[str, str]:
    data = {"username": "bob", "phone": "17000000202", "password": "harbour-teapot-2026"}
    with app.app_context(), db.transaction() as session:
        data["id"] = context.accounts().create_person(session, **data).id
    return data


def test_the_texted_code_signs_in_with_sms(app, client, person):
    asked = ask_code(client, "170 0000 0101")
    flow_id = flow_of(asked)
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "170****0101" in page and person["phone"] not in page
    assert 'name="code"' in page and 'name="password"' not in page

    done = send_code(client, flow_id, last_code(app, person["phone"]))
    assert done.status_code == 303 and done.headers["Location"] == "/account"
    assert cookie(client, SSO_COOKIE)
    [sso] = sessions_of(app, person["id"])
    assert sso.amr == ["sms"] and sso.channel == "web"
    assert int(sso.acr.rsplit(":", 1)[1]) <= 3
    [event] = events(app, "person:login:succeeded")
    assert event.detail == {"amr": ["sms"], "acr": sso.acr, "method": "sms"}


def test_the_code_step_goes_back_to_the_transaction(app, client, person):
    with app.app_context(), db.transaction() as session:
        rp = create_client(
            session,
            name="公积金系统",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code"],
            scopes=["openid"],
        )
    start = client.get(
        "/authorize",
        query_string={
            "response_type": "code",
            "client_id": rp.client.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid",
            "state": "st",
        },
    )
    txn_id = query_of(start.headers["Location"])["txn"]
    asked = ask_code(client, person["phone"], txn=txn_id, tab="org")
    assert query_of(asked.headers["Location"])["txn"] == txn_id
    assert query_of(asked.headers["Location"])["tab"] == "org"
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert f'name="txn" value="{txn_id}"' in page and 'name="tab" value="org"' in page
    done = send_code(client, flow_of(asked), last_code(app, person["phone"]), txn=txn_id)
    assert done.headers["Location"] == f"/signin/{txn_id}"
    consent = client.get(done.headers["Location"])
    action, token = form_of(consent.get_data(as_text=True))
    answer = client.post(action, data={"csrf_token": token, "decision": "allow"})
    assert answer.headers["Location"].startswith(REDIRECT) and "code=" in answer.headers["Location"]


def test_an_unknown_number_gets_the_same_answer_and_no_text(app, person):
    known, unknown = app.test_client(), app.test_client()
    known_answer = ask_code(known, person["phone"])
    unknown_answer = ask_code(unknown, "17000000999")
    pages = []
    for client, answer in ((known, known_answer), (unknown, unknown_answer)):
        flow_id = flow_of(answer)
        html = client.get(answer.headers["Location"]).get_data(as_text=True)
        html = re.sub(r'name="csrf_token" value="[^"]+"', "", html.replace(flow_id, "<flow>"))
        pages.append(html.replace("170****0101", "<phone>").replace("170****0999", "<phone>"))
    assert pages[0] == pages[1]
    assert len(texts_to(app, person["phone"])) == 1 and texts_to(app, "17000000999") == []
    unknown_done = send_code(unknown, flow_of(unknown_answer), "123456")
    assert unknown_done.status_code == 303 and cookie(unknown, SSO_COOKIE) is None


def test_wrong_codes_use_up_the_tries_then_the_right_one_is_dead(app, client, person):
    flow_id = flow_of(ask_code(client, person["phone"]))
    code = last_code(app, person["phone"])
    for left in (4, 3, 2, 1):
        back = send_code(client, flow_id, wrong(code))
        assert query_of(back.headers["Location"])["sms"] == flow_id  # the code step again
        page = client.get(back.headers["Location"]).get_data(as_text=True)
        assert f"验证码错误，还可尝试 {left} 次" in page
    last = send_code(client, flow_id, wrong(code))
    assert "sms" not in query_of(last.headers["Location"])  # back to the number step
    page = client.get(last.headers["Location"]).get_data(as_text=True)
    assert "该验证码已无法使用" in page  # told what happened and what to do
    assert f'value="{person["phone"]}"' in page  # the number is still typed

    assert send_code(client, flow_id, code).headers["Location"].startswith("/login")
    assert cookie(client, SSO_COOKIE) is None and sessions_of(app, person["id"]) == []
    failed = events(app, "person:login:failed")
    assert len(failed) == 6 and {e.person_id for e in failed[:4]} == {person["id"]}
    assert events(app, "person:login:succeeded") == []


def test_a_code_sent_to_another_number_does_not_sign_in(app, person):
    bob = another_person(app)
    alice_client, bob_client = app.test_client(), app.test_client()
    alice_flow = flow_of(ask_code(alice_client, person["phone"]))
    bob_flow = flow_of(ask_code(bob_client, bob["phone"]))
    alice_code, bob_code = last_code(app, person["phone"]), last_code(app, bob["phone"])
    if alice_code == bob_code:  # one in a million: nothing to tell apart
        return
    assert send_code(bob_client, bob_flow, alice_code).headers["Location"].startswith("/login")
    assert send_code(alice_client, alice_flow, bob_code).headers["Location"].startswith("/login")
    assert cookie(alice_client, SSO_COOKIE) is None and cookie(bob_client, SSO_COOKIE) is None
    assert sessions_of(app, person["id"]) == [] and sessions_of(app, bob["id"]) == []
    assert send_code(bob_client, bob_flow, bob_code).headers["Location"] == "/account"
    assert [s.person_id for s in sessions_of(app, bob["id"])] == [bob["id"]]


def test_a_code_signs_in_once(app, client, person):
    flow_id = flow_of(ask_code(client, person["phone"]))
    code = last_code(app, person["phone"])
    assert send_code(client, flow_id, code).headers["Location"] == "/account"
    replay = app.test_client()
    again = send_code(replay, flow_id, code)
    assert again.headers["Location"].startswith("/login") and cookie(replay, SSO_COOKIE) is None
    assert len(sessions_of(app, person["id"])) == 1


def test_codes_are_rationed_and_a_bad_number_is_named(app, client, person):
    flow_of(ask_code(client, person["phone"]))
    again = ask_code(client, person["phone"])  # within the minute
    assert "sms" not in query_of(again.headers["Location"])
    assert "请求验证码次数过多" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(texts_to(app, person["phone"])) == 1
    bad = ask_code(client, "12345")
    assert "请输入 11 位大陆手机号码" in client.get(bad.headers["Location"]).get_data(as_text=True)


def test_without_csrf_token_nothing_is_sent(app, client, person):
    assert client.post("/login/sms", data={"phone": person["phone"]}).status_code == 400
    assert texts_to(app, person["phone"]) == []
