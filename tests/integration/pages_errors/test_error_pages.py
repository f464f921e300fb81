"""Every error a person can meet says, in their language, what happened and what to do;
the code is in small print for the help desk; a link leads back to the service when it
is known (never to an address the request made up), else to the page of ours the person
came from, else the account centre. Protocol endpoints keep answering JSON."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from idp.errors import DatabaseUnavailableError, TooManyAttemptsError
from tests.helpers import csrf_token
from tests.integration.oidc.conftest import REDIRECT, register  # noqa: F401 (a fixture)

RP_HOME = "https://rp.example.test/"
NOT_REGISTERED = ("未在本平台登记", "is not registered with this platform")
NOTHING_CHANGED = ("您的数据未作任何更改", "Nothing has been changed")
ACCOUNT = "/account"


@dataclass(frozen=True)
class Case:
    status: int
    code: str  # in small print
    zh: str  # part of the sentence, Chinese
    en: str  # the same, English
    back: str  # where the way back leads


def authorize(rp_id: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": rp_id,
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "st",
        **extra,
    }


@pytest.fixture
def rp(register):  # noqa: F811
    return register()


def main(response: Any) -> str:
    body = html.unescape(response.get_data(as_text=True))
    return body[body.index("<main>") : body.index("</main>")]


def way_back(page: str) -> str:
    return page.split('class="button way-back" href="')[1].split('"')[0]


def assert_page(response: Any, case: Case, *, lang: str = "zh") -> None:
    page = main(response)
    assert response.status_code == case.status, page
    assert (case.zh if lang == "zh" else case.en) in page
    small = page.split('class="hint error-code"><small>')[1].split("</small>")[0]
    label = "错误代码：" if lang == "zh" else "Error code: "
    assert small.startswith(label + case.code)
    assert way_back(page) == case.back
    # the protocol's English is never the main text
    sentence = page.split('class="error-message">')[1].split("</p>")[0]
    assert case.code not in sentence and "client does not exist" not in sentence


# -- /authorize: the redirect URI cannot be trusted, so the page says it --------------------
AUTHORIZE_CASES = {
    "unknown client": (
        {"client_id": "no-such-client"},
        Case(400, "invalid_client", *NOT_REGISTERED, ACCOUNT),
    ),
    "redirect URI not registered": (
        {"redirect_uri": "https://evil.example.test/cb"},
        Case(400, "invalid_request", "返回地址未经登记", "has not registered", RP_HOME),
    ),
    "unsupported response type, no redirect URI": (
        {"response_type": "bogus", "redirect_uri": ""},
        Case(400, "unsupported_response_type", "不符合规范", "cannot accept", RP_HOME),
    ),
    "missing redirect URI": (
        {"redirect_uri": ""},
        Case(400, "invalid_request", "不符合规范", "cannot accept", RP_HOME),
    ),
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", AUTHORIZE_CASES)
def test_authorize_errors_say_what_to_do_and_lead_back_to_the_service(client, rp, name, lang):
    params, case = AUTHORIZE_CASES[name]
    query = {k: v for k, v in authorize(rp.client_id, **params).items() if v}
    if lang == "en":
        query["lang"] = "en"
    response = client.get("/authorize", query_string=query)
    assert "Location" not in response.headers
    assert_page(response, case, lang=lang)


def test_the_way_back_is_the_registered_address_never_the_one_asked_for(client, rp):
    response = client.get(
        "/authorize", query_string=authorize(rp.client_id, redirect_uri="https://evil.test/x")
    )
    page = main(response)
    assert way_back(page) == RP_HOME and "返回“社保系统”" in page
    assert 'href="https://evil.test' not in page


def test_accept_language_english_is_honoured(client, rp):
    response = client.get(
        "/authorize",
        query_string=authorize("no-such-client"),
        headers={"Accept-Language": "en-GB,en;q=0.9"},
    )
    assert_page(response, AUTHORIZE_CASES["unknown client"][1], lang="en")


# -- pages of ours --------------------------------------------------------------------------
def test_an_expired_sign_in_step(client):
    case = Case(400, "expired", "本次登录页面已失效", "no longer valid", ACCOUNT)
    assert_page(client.get("/signin/no-such-transaction"), case)
    assert_page(client.get("/signin/no-such-transaction?lang=en"), case, lang="en")


def test_an_expired_form(client):
    case = Case(400, "form_expired", "页面打开时间过长", "open too long", ACCOUNT)
    response = client.post("/login", data={"username": "x", "password": "y"})
    assert_page(response, case)


def test_an_expired_device_confirmation(client):
    token = csrf_token(client, "/device")
    response = client.post("/device/confirm", data={"csrf_token": token, "decision": "continue"})
    assert_page(response, Case(400, "expired", "本次登录页面已失效", "no longer valid", ACCOUNT))


def test_a_missing_page_leads_back_to_the_page_of_ours_the_person_came_from(client):
    case = Case(404, "not_found", "此地址没有对应的页面", "There is no page", ACCOUNT)
    assert_page(client.get("/no/such/page"), case)
    came_from = "http://localhost/login?lang=zh"
    back = Case(404, "not_found", "此地址没有对应的页面", "There is no page", came_from)
    assert_page(client.get("/no/such/page", headers={"Referer": came_from}), back)
    # another site's page is not linked
    foreign = client.get("/no/such/page", headers={"Referer": "https://evil.example.test/"})
    assert way_back(main(foreign)) == ACCOUNT


def test_a_method_a_page_does_not_take(client):
    case = Case(
        405, "method_not_allowed", "无法以此方式使用本页面", "cannot be used this way", ACCOUNT
    )
    response = client.post("/")
    assert_page(response, case)
    assert "GET" in response.headers["Allow"]


def test_a_request_too_large(app, client):
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/login", data={"username": big})
    case = Case(413, "request_too_large", "提交的内容过大", "too large", ACCOUNT)
    assert_page(response, case)
    assert_page(client.post("/login?lang=en", data={"username": big}), case, lang="en")


def _failing(app: Flask, error: Exception) -> str:
    """A page that fails as a part under it would: the real handlers answer."""

    def fail() -> str:
        raise error

    app.add_url_rule("/failing", "failing", fail)
    return "/failing"


@pytest.mark.parametrize(
    "error, case",
    [
        (
            TooManyAttemptsError(300),
            Case(429, "too_many_attempts", "请 5 分钟后再试", "Try again in 5 minutes", ACCOUNT),
        ),
        (
            DatabaseUnavailableError(),
            Case(503, "temporarily_unavailable", *NOTHING_CHANGED, ACCOUNT),
        ),
        (
            RuntimeError("a bug"),
            Case(500, "server_error", "平台发生意外错误", "unexpected error occurred", ACCOUNT),
        ),
    ],
    ids=["429", "503", "500"],
)
def test_failures_on_our_side(app, error, case):
    path = _failing(app, error)
    client = app.test_client()
    assert_page(client.get(path), case)
    response = client.get(path + "?lang=en")
    assert_page(response, case, lang="en")
    assert "a bug" not in response.get_data(as_text=True)


# -- the protocol's contract is unchanged -----------------------------------------------------
def test_protocol_endpoints_still_answer_json(client):
    response = client.post("/.well-known/openid-configuration")
    assert response.status_code == 405
    assert response.is_json and response.json["error"] == "invalid_request"
    assert "错误代码" not in response.get_data(as_text=True)


# -- a service's sign-out request we cannot accept (RP-initiated logout) --------------------
def test_a_refused_sign_out_request_says_so_in_words_and_leads_back(client, rp):
    case = Case(400, "invalid_request", "退出登录请求不符合规范", "sign you out", RP_HOME)
    params = {"client_id": rp.client_id, "post_logout_redirect_uri": "https://evil.test/bye"}
    response = client.get("/end_session", query_string=params)
    assert "Location" not in response.headers
    assert_page(response, case)
    assert "not registered for this client" in main(response)  # the detail, in small print
    english = client.get("/end_session", query_string={**params, "lang": "en"})
    assert_page(english, case, lang="en")
    unknown = client.get("/end_session", query_string={"client_id": "nobody", "lang": "zh"})
    assert_page(unknown, Case(400, "invalid_request", "退出登录请求不符合规范", "", ACCOUNT))
