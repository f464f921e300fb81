"""The SMS-code sign-in's pages (issue 14, items 1, 2 and 10): a refused number or code is
said next to its field and at the top, the number typed kept (the code never); the code
page offers "send a new code" after the wait (saying how long, and working without
script) and "change number"; a dead code brings the person back to their number, not to
an empty start; Back to the code page of a finished sign-in says it is done."""

from __future__ import annotations

import time

from idp.accounts import sms_codes
from idp.web.security import SSO_COOKIE
from tests.helpers import cookie, csrf_token
from tests.integration.channels.test_sms_login import (
    ask_code,
    flow_of,
    last_code,
    send_code,
    texts_to,
    wrong,
)
from tests.integration.oidc.conftest import REDIRECT, query_of
from tests.integration.pages_signin.test_back_and_refresh import DONE, request, text


def resend(client, flow_id: str, **form: str):
    token = csrf_token(client, f"/login?method=sms&sms={flow_id}&switch=1")
    return client.post(f"/login/sms/{flow_id}/resend", data={"csrf_token": token, **form})


def test_a_new_code_after_the_wait_and_not_before(app, client, person, monkeypatch):
    monkeypatch.setattr(sms_codes, "PHONE_RESEND_AFTER", 1)
    flow_id = flow_of(ask_code(client, person["phone"]))
    page = text(client.get(f"/login?method=sms&sms={flow_id}"))
    assert f'action="/login/sms/{flow_id}/resend"' in page
    assert "秒后可重新获取验证码" in page  # how long to wait, in words
    assert "更换手机号码" in page

    early = resend(client, flow_id)
    assert query_of(early.headers["Location"])["sms"] == flow_id  # the same code step
    assert "秒后可重新发送验证码" in text(client.get(early.headers["Location"]))
    assert len(texts_to(app, person["phone"])) == 1  # nothing sent before the wait
    first_code = last_code(app, person["phone"])

    time.sleep(1.2)
    assert "现在可以重新获取" in text(client.get(f"/login?method=sms&sms={flow_id}"))
    later = resend(client, flow_id)
    new_flow = flow_of(later)
    assert new_flow != flow_id and len(texts_to(app, person["phone"])) == 2
    assert "新的验证码正在发送" in text(client.get(later.headers["Location"]))
    assert cookie(client, SSO_COOKIE) is None
    dead = send_code(client, flow_id, first_code)  # the earlier code no longer works
    assert cookie(client, SSO_COOKIE) is None and "sms" not in query_of(dead.headers["Location"])
    done = send_code(client, new_flow, last_code(app, person["phone"]))
    assert done.headers["Location"] == "/account" and cookie(client, SSO_COOKIE)


def test_change_number_leads_to_the_number_form(client, person):
    flow_id = flow_of(ask_code(client, person["phone"]))
    page = text(client.get(f"/login?method=sms&sms={flow_id}&tab=org"))
    link = page.split("更换手机号码")[0].rsplit('href="', 1)[1].split('"')[0]
    assert "sms=" not in link and "method=sms" in link and "tab=org" in link
    start = text(client.get(link.replace("&amp;", "&")))
    assert 'name="phone"' in start and 'name="code"' not in start


def test_a_wrong_code_is_said_next_to_the_code_field(app, client, person):
    flow_id = flow_of(ask_code(client, person["phone"]))
    code = last_code(app, person["phone"])
    back = send_code(client, flow_id, wrong(code))
    page = text(client.get(back.headers["Location"]))
    assert 'id="code-error"' in page and 'aria-invalid="true"' in page
    assert 'aria-describedby="code-error"' in page and "autofocus" in page
    assert 'class="error-summary"' in page and "还可尝试 4 次" in page
    assert wrong(code) not in page  # a code is never typed back in


def test_a_bad_number_is_said_next_to_it_and_kept(client):
    refused = ask_code(client, "1700000")
    page = text(client.get(refused.headers["Location"]))
    assert 'id="phone-error"' in page and "请输入 11 位大陆手机号码" in page
    assert 'value="1700000"' in page and 'aria-invalid="true"' in page


def test_out_of_tries_keeps_the_number_and_says_what_to_do(app, client, person):
    flow_id = flow_of(ask_code(client, person["phone"], tab="org"))
    code = last_code(app, person["phone"])
    for _ in range(5):
        last = send_code(client, flow_id, wrong(code), tab="org")
    assert "sms" not in query_of(last.headers["Location"])
    assert query_of(last.headers["Location"])["tab"] == "org"  # not thrown back to the start
    page = text(client.get(last.headers["Location"]))
    assert "该验证码已无法使用" in page and "请重新获取验证码" in page
    assert f'value="{person["phone"]}"' in page
    stranger = app.test_client()  # the number is kept for this browser only
    assert person["phone"] not in text(stranger.get(last.headers["Location"]))


def test_back_to_the_code_page_after_signing_in_says_it_is_done(app, client, person, register):
    from tests.integration.oidc.conftest import Browser

    rp = register(first_party=True)
    browser = Browser(client, person)
    txn_id = query_of(request(browser, rp).headers["Location"])["txn"]
    asked = ask_code(client, person["phone"], txn=txn_id)
    code_page = asked.headers["Location"]
    done = send_code(client, flow_of(asked), last_code(app, person["phone"]), txn=txn_id)
    assert done.headers["Location"].startswith(REDIRECT + "?code=")
    back = client.get(code_page)
    assert back.status_code == 200 and DONE in text(back) and 'name="code"' not in text(back)
