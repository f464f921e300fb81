"""Recovery pages under Refresh and Back: the same pages whether or not the number has an
account, a dead code keeps the number, a new code or another number without retyping,
Back to a finished recovery says so."""

from __future__ import annotations

import re

from idp.accounts import sms_codes
from tests.helpers import sign_in
from tests.integration.pages_register.support import (
    code_sent,
    minute_passes,
    page_after,
    post,
    summary,
    tag,
    texts_to,
    wrong,
)

NEW_PASSWORD = "willow-lantern-3141"


def start(client, phone: str):
    return post(client, "/recover", phone=phone)


def test_a_bad_number_is_said_next_to_it_and_kept(client):
    page = page_after(client, start(client, "1234"))
    assert "请输入 11 位大陆手机号码" in summary(page)
    field = tag(page, "phone")
    assert 'aria-invalid="true"' in field and 'value="1234"' in field and "autofocus" in field


def test_back_to_a_finished_recovery_says_it_is_done(app, client, person):
    url = start(client, person["phone"]).headers["Location"]
    code = code_sent(app, person["phone"])
    assert post(client, url, code=code, password=NEW_PASSWORD).headers["Location"] == "/login"
    back = client.get(url).get_data(as_text=True)
    assert "密码已重置" in back and "此步骤已完成" in back and 'href="/login"' in back
    assert 'name="password"' not in back
    resent = post(client, url, token_from="/recover", code=code, password="other-long-pass-77")
    assert resent.headers["Location"] == url  # nothing changes: the same done page
    assert sign_in(app.test_client(), person["phone"], NEW_PASSWORD).headers["Location"] == (
        "/account"
    )


def test_running_out_of_tries_keeps_the_number_and_offers_a_new_code(app, client, person):
    url = start(client, person["phone"]).headers["Location"]
    code = code_sent(app, person["phone"])
    for _ in range(sms_codes.MAX_TRIES):
        post(client, url, code=wrong(code), password=NEW_PASSWORD)
    page = client.get(url).get_data(as_text=True)
    assert "验证码已失效" in page and "170****0101" in page and 'name="code"' not in page
    minute_passes(app, person["phone"])
    assert "如该号码已注册，新的验证码已发送" in page_after(
        client, post(client, url + "/resend", token_from=url)
    )
    done = post(client, url, code=code_sent(app, person["phone"]), password=NEW_PASSWORD)
    assert done.headers["Location"] == "/login"


def test_change_number_brings_the_number_back_to_correct(client):
    url = start(client, "17000000641").headers["Location"]
    assert post(client, url + "/change", token_from=url).headers["Location"] == "/recover"
    assert 'value="17000000641"' in tag(client.get("/recover").get_data(as_text=True), "phone")


def test_a_new_code_looks_the_same_with_or_without_an_account(app, person):
    pages = []
    for phone in (person["phone"], "17000000642"):
        client = app.test_client()
        url = start(client, phone).headers["Location"]
        early = page_after(client, post(client, url + "/resend", token_from=url))
        minute_passes(app, phone)
        later = page_after(client, post(client, url + "/resend", token_from=url))
        pages.append((early, later))
    strip = re.compile(r'/recover/[\w-]+|170\*{4}\d{4}|name="csrf_token" value="[^"]+"|\d+ 秒')
    for known, unknown in zip(pages[0], pages[1], strict=True):
        assert strip.sub("", known) == strip.sub("", unknown)
    assert len(texts_to(app, person["phone"])) == 2 and texts_to(app, "17000000642") == []


def test_a_new_code_for_a_number_without_account_is_limited_alike(app, client):
    url = start(client, "17000000643").headers["Location"]
    for _ in range(sms_codes.PHONE_SENDS_PER_HOUR):
        minute_passes(app, "17000000643")
        post(client, url + "/resend", token_from=url)
    assert "请求验证码次数过多" in client.get(url).get_data(as_text=True)


def test_resend_and_change_need_the_csrf_token(app, client, person):
    url = start(client, person["phone"]).headers["Location"]
    minute_passes(app, person["phone"])
    assert client.post(url + "/resend").status_code == 400
    assert client.post(url + "/change").status_code == 400
    assert len(texts_to(app, person["phone"])) == 1
    assert 'name="code"' in client.get(url).get_data(as_text=True)
