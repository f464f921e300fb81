"""Registration pages under Refresh and Back, with refusals where the person looks: every
POST redirects, every step reloads, a finished step says it is done."""

from __future__ import annotations

from sqlalchemy import func, select

from idp.accounts.models import Person
from idp.db import db
from tests.helpers import csrf_token
from tests.integration.pages_register.support import (
    PASSWORD,
    code_sent,
    page_after,
    post,
    summary,
    tag,
    texts_to,
    wrong,
)


def start(client, phone: str, agreement: bool = True, txn: str | None = None):
    data = {"phone": phone, **({"agreement": "yes"} if agreement else {})}
    return post(client, "/register", **data, **({"txn": txn} if txn else {}))


def people(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Person))


def test_a_bad_number_is_said_next_to_it_and_kept(app, client):
    response = start(client, "1700000", agreement=True)
    assert response.headers["Location"] == "/register"
    html = client.get("/register").get_data(as_text=True)
    assert "请输入 11 位大陆手机号码" in summary(html)
    phone = tag(html, "phone")
    assert 'value="1700000"' in phone and 'aria-invalid="true"' in phone
    assert 'aria-describedby="phone-error"' in phone and "autofocus" in phone
    assert 'id="phone-error"' in html
    assert 'id="agreement" type="checkbox" name="agreement" value="yes" required checked' in html
    assert texts_to(app, "1700000") == []
    reloaded = client.get("/register").get_data(as_text=True)  # Refresh: shown once
    assert "error-summary" not in reloaded and 'value="1700000"' not in reloaded


def test_an_unticked_agreement_is_said_next_to_the_box_and_the_number_kept(app, client):
    page = page_after(client, start(client, "17000000601", agreement=False))
    box = tag(page, "agreement")
    assert 'aria-invalid="true"' in box and "autofocus" in box and "checked" not in box
    assert 'aria-describedby="agreement-error"' in box
    assert 'id="agreement-error"' in page and "请阅读并同意实名注册协议" in page
    assert 'value="17000000601"' in tag(page, "phone")
    assert texts_to(app, "17000000601") == []


def test_the_code_page_reloads_and_a_refresh_sends_nothing_again(app, client):
    url = start(client, "17000000602").headers["Location"]
    first, again = client.get(url), client.get(url)
    assert first.status_code == again.status_code == 200
    assert "验证码已发送至 170****0602" in again.get_data(as_text=True)
    assert len(texts_to(app, "17000000602")) == 1


def test_a_wrong_code_is_said_next_to_it_and_the_user_name_kept(app, client):
    url = start(client, "17000000603").headers["Location"]
    code = code_sent(app, "17000000603")
    response = post(client, url, code=wrong(code), username="river7", password=PASSWORD)
    assert response.headers["Location"] == url
    page = client.get(url).get_data(as_text=True)
    assert "验证码错误，还可尝试 4 次" in summary(page)
    field = tag(page, "code")
    assert 'aria-invalid="true"' in field and "autofocus" in field
    assert 'aria-describedby="code-error"' in field and 'value=""' in field  # never kept
    assert 'value="river7"' in tag(page, "username")
    assert PASSWORD not in page and wrong(code) not in page
    # the refresh of that page resends nothing: the next wrong try is the second
    client.get(url)
    post(client, url, code=wrong(code), password=PASSWORD)
    assert "还可尝试 3 次" in client.get(url).get_data(as_text=True)


def test_a_weak_password_is_said_next_to_it_and_nothing_is_created(app, client):
    url = start(client, "17000000604").headers["Location"]
    post(client, url, code=code_sent(app, "17000000604"), password="password123")
    page = client.get(url).get_data(as_text=True)
    assert 'aria-invalid="true"' in tag(page, "password") and "过于常见" in page
    assert "password123" not in page and people(app) == 0


def test_back_to_a_finished_registration_says_it_is_done(app, client):
    url = start(client, "17000000605").headers["Location"]
    done = post(client, url, code=code_sent(app, "17000000605"), password=PASSWORD)
    assert done.headers["Location"] == "/account/realname"
    back = client.get(url).get_data(as_text=True)  # Back to the code step
    assert "注册完成" in back and "此步骤已完成" in back and "170****0605" in back
    assert 'href="/account/realname"' in back and 'href="/account"' in back
    assert 'name="code"' not in back
    # the form sent again from the back page's cache: nothing new, the same done page
    again = post(client, url, token_from="/register", code="000000", password=PASSWORD)
    assert again.headers["Location"] == url and people(app) == 1
    elsewhere = app.test_client().get(url).get_data(as_text=True)  # not signed in there
    assert "注册完成" in elsewhere and 'href="/login"' in elsewhere


def test_a_registration_for_a_sign_in_goes_back_to_it(app, client):
    page = client.get("/register?txn=T-123").get_data(as_text=True)
    assert '<input type="hidden" name="txn" value="T-123">' in page
    assert 'href="/login?txn=T-123"' in page
    url = start(client, "17000000606", txn="T-123").headers["Location"]
    done = post(client, url, code=code_sent(app, "17000000606"), password=PASSWORD)
    assert done.headers["Location"] == "/signin/T-123"  # that sign-in says where it stands
    assert 'href="/signin/T-123"' in client.get(url).get_data(as_text=True)


def test_an_unknown_or_expired_step_goes_back_to_the_start_saying_so(client):
    response = client.get("/register/no-such-step")
    assert response.status_code == 303 and response.headers["Location"] == "/register"
    assert "页面已过期" in client.get("/register").get_data(as_text=True)


def test_every_form_still_needs_its_csrf_token(app, client):
    url = start(client, "17000000607").headers["Location"]
    for path in (url, url + "/resend", url + "/change"):
        assert client.post(path, data={"code": "000000", "password": PASSWORD}).status_code == 400
    assert client.post("/register", data={"phone": "17000000608"}).status_code == 400
    assert len(texts_to(app, "17000000607")) == 1 and texts_to(app, "17000000608") == []
    assert "170****0607" in client.get(url).get_data(as_text=True)  # the step is untouched
    csrf_token(client, url)
