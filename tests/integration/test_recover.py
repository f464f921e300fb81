"""Account recovery by SMS: no enumeration, single-use code, every session ends."""

from __future__ import annotations

import re

from idp import context
from tests.helpers import csrf_token, sign_in

NEW_PASSWORD = "willow-lantern-3141"


def texts_to(app, phone: str) -> list:
    with app.app_context():
        return context.connectors().sms.outbox(phone)


def start(client, phone: str):
    return client.post(
        "/recover", data={"phone": phone, "csrf_token": csrf_token(client, "/recover")}
    )


def test_recovery_sets_a_new_password_and_ends_every_session(app, person):
    elsewhere = app.test_client()
    sign_in(elsewhere, person["username"], person["password"])
    client = app.test_client()
    url = start(client, person["phone"]).headers["Location"]
    code = texts_to(app, person["phone"])[-1].params["code"]
    done = client.post(
        url, data={"csrf_token": csrf_token(client, url), "code": code, "password": NEW_PASSWORD}
    )
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert elsewhere.get("/account").status_code == 303  # signed out everywhere
    assert (
        sign_in(app.test_client(), person["username"], person["password"]).headers["Location"]
        == "/login"
    )
    assert (
        sign_in(app.test_client(), person["username"], NEW_PASSWORD).headers["Location"]
        == "/account"
    )
    replay = app.test_client()
    again = replay.post(
        url,
        data={
            "csrf_token": csrf_token(replay, "/recover"),
            "code": code,
            "password": "another-long-pass-99",
        },
    )
    assert again.headers["Location"] == url  # the code worked once: the step is done
    assert "密码已重置" in replay.get(url).get_data(as_text=True)
    assert (
        sign_in(app.test_client(), person["username"], "another-long-pass-99").headers["Location"]
        == "/login"
    )


def test_unknown_number_looks_the_same_and_sends_nothing(app, person):
    known = start(app.test_client(), person["phone"])
    unknown = start(app.test_client(), "17000000999")
    assert known.status_code == unknown.status_code == 303
    known_page = app.test_client().get(known.headers["Location"]).get_data(as_text=True)
    unknown_page = app.test_client().get(unknown.headers["Location"]).get_data(as_text=True)
    flow_part = re.compile(r"/recover/[\w-]+")
    number = re.compile(r"170\*{4}\d{4}")  # each page names the number typed, masked
    strip = lambda html: number.sub("<n>", flow_part.sub("/recover/<id>", html))  # noqa: E731
    known_page, unknown_page = strip(known_page), strip(unknown_page)
    token = re.compile(r'name="csrf_token" value="[^"]+"')
    assert token.sub("", known_page) == token.sub("", unknown_page)
    assert texts_to(app, "17000000999") == []
    for url in (known.headers["Location"], unknown.headers["Location"]):  # wrong codes alike
        client = app.test_client()
        page = client.post(
            url,
            data={
                "csrf_token": csrf_token(client, url),
                "code": "000000",
                "password": NEW_PASSWORD,
            },
        )
        assert "还可尝试 4 次" in client.get(page.headers["Location"]).get_data(as_text=True)


def test_a_weak_new_password_is_refused_and_nothing_changes(app, person):
    client = app.test_client()
    url = start(client, person["phone"]).headers["Location"]
    code = texts_to(app, person["phone"])[-1].params["code"]
    page = client.post(
        url, data={"csrf_token": csrf_token(client, url), "code": code, "password": "password123"}
    )
    assert page.headers["Location"] == url
    assert "过于常见" in client.get(url).get_data(as_text=True)
    assert (
        sign_in(app.test_client(), person["username"], person["password"]).headers["Location"]
        == "/account"
    )
