"""The SMS-code step of registration: a dead code keeps the number and the agreement, a
new code comes after the wait (said in words) and within the limits, the number can be
changed without typing the rest again."""

from __future__ import annotations

from idp.accounts import sms_codes
from tests.integration.pages_register.support import (
    PASSWORD,
    code_sent,
    minute_passes,
    page_after,
    post,
    tag,
    texts_to,
    wrong,
)


def start(client, phone: str):
    return post(client, "/register", phone=phone, agreement="yes")


def use_up_the_tries(client, url: str, code: str) -> None:
    for _ in range(sms_codes.MAX_TRIES):
        post(client, url, code=wrong(code), password=PASSWORD)


def test_running_out_of_tries_keeps_the_number_and_the_agreement(app, client):
    url = start(client, "17000000621").headers["Location"]
    code = code_sent(app, "17000000621")
    use_up_the_tries(client, url, code)
    page = client.get(url).get_data(as_text=True)
    assert "验证码已失效" in page and "手机号码已保留" in page  # what happened, what to do
    assert "170****0621" in page and 'name="code"' not in page
    assert 'id="resend"' in page and "更换手机号码" in page
    late = post(client, url, code=code, password=PASSWORD)  # the right code, too late
    assert late.headers["Location"] == url and "验证码已失效" in client.get(url).get_data(True)

    changed = post(client, url + "/change", token_from=url)
    assert changed.headers["Location"] == "/register"
    form = client.get("/register").get_data(as_text=True)
    assert 'value="17000000621"' in tag(form, "phone")
    assert "checked" in tag(form, "agreement") and "error-summary" not in form
    assert client.get(url).headers["Location"] == "/register"  # that step has ended


def test_a_new_code_before_the_wait_is_refused_with_the_wait_in_words(app, client):
    url = start(client, "17000000622").headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "验证码每分钟最多发送一次" in page and "秒后可重新获取" in page
    refused = post(client, url + "/resend", token_from=url)
    assert refused.headers["Location"] == url
    page = client.get(url).get_data(as_text=True)
    assert 'id="resend-error"' in page and "秒后可重新获取验证码" in page
    assert 'aria-describedby="resend-hint resend-error"' in tag(page, "resend", "button")
    assert len(texts_to(app, "17000000622")) == 1


def test_a_new_code_after_the_wait_replaces_the_old_one(app, client):
    url = start(client, "17000000623").headers["Location"]
    old = code_sent(app, "17000000623")
    minute_passes(app, "17000000623")
    assert "现在可以重新获取验证码" in client.get(url).get_data(as_text=True)
    assert "新的验证码已发送至 170****0623" in page_after(
        client, post(client, url + "/resend", token_from=url)
    )
    new = code_sent(app, "17000000623")
    assert len(texts_to(app, "17000000623")) == 2
    if old != new:
        post(client, url, code=old, password=PASSWORD)
        assert "验证码错误" in client.get(url).get_data(as_text=True)
    done = post(client, url, code=new, password=PASSWORD)
    assert done.headers["Location"] == "/account/realname"


def test_a_new_code_after_running_out_of_tries_works(app, client):
    url = start(client, "17000000624").headers["Location"]
    use_up_the_tries(client, url, code_sent(app, "17000000624"))
    minute_passes(app, "17000000624")
    post(client, url + "/resend", token_from=url)
    page = client.get(url).get_data(as_text=True)
    assert 'name="code"' in page and "验证码已失效" not in page
    done = post(client, url, code=code_sent(app, "17000000624"), password=PASSWORD)
    assert done.headers["Location"] == "/account/realname"


def test_asking_again_and_again_cannot_flood_a_number(app, client):
    url = start(client, "17000000625").headers["Location"]
    for _ in range(sms_codes.PHONE_SENDS_PER_HOUR - 1):
        minute_passes(app, "17000000625")
        post(client, url + "/resend", token_from=url)
    assert len(texts_to(app, "17000000625")) == sms_codes.PHONE_SENDS_PER_HOUR
    minute_passes(app, "17000000625")
    post(client, url + "/resend", token_from=url)
    page = client.get(url).get_data(as_text=True)
    assert "请求验证码次数过多" in page and "分钟后可重新获取验证码" in page
    assert len(texts_to(app, "17000000625")) == sms_codes.PHONE_SENDS_PER_HOUR
    # a new start for the same number is held to the same count
    minute_passes(app, "17000000625")
    assert "请求验证码次数过多" in page_after(client, start(client, "17000000625"))
    assert len(texts_to(app, "17000000625")) == sms_codes.PHONE_SENDS_PER_HOUR


def test_asking_from_one_address_for_many_numbers_is_limited(app, client):
    phones = [f"170000007{n:02d}" for n in range(sms_codes.ADDRESS_SENDS_PER_HOUR + 1)]
    urls = [start(client, phone).headers["Location"] for phone in phones[:-1]]
    assert all(len(texts_to(app, phone)) == 1 for phone in phones[:-1])
    assert "请求验证码次数过多" in page_after(client, start(client, phones[-1]))
    minute_passes(app, phones[0])
    post(client, urls[0] + "/resend", token_from=urls[0])  # a resend counts alike
    assert "请求验证码次数过多" in client.get(urls[0]).get_data(as_text=True)
    assert texts_to(app, phones[-1]) == [] and len(texts_to(app, phones[0])) == 1


def test_a_service_hall_behind_one_address_can_be_given_more_codes(make_app):
    """IDP_SMS_CODES_PER_ADDRESS: an office whose people share one address gets its own
    hourly count; past it, codes stop alike."""
    app = make_app(sms_codes_per_address=sms_codes.ADDRESS_SENDS_PER_HOUR + 2)
    client = app.test_client()
    phones = [f"170000008{n:02d}" for n in range(sms_codes.ADDRESS_SENDS_PER_HOUR + 3)]
    for phone in phones[:-1]:
        start(client, phone)
    assert all(len(texts_to(app, phone)) == 1 for phone in phones[:-1])
    assert "请求验证码次数过多" in page_after(client, start(client, phones[-1]))
    assert texts_to(app, phones[-1]) == []
