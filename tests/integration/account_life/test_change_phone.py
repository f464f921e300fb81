"""Changing the phone number: the current password, then a code sent to the NEW number;
the old number is told. Attacker side: a CSRF post, another person's session, a code for
another number, a number that is someone else's."""

from __future__ import annotations

import hashlib

from idp import context
from tests.helpers import sign_in
from tests.integration.account_life.support import (
    OTHER,
    audit,
    last_code,
    make_person,
    phone_of,
    post,
    texts,
)

NEW = "17000000303"
ANOTHER = "17000000304"


def start(client, password: str, new_phone: str = NEW):
    return post(client, "/account/phone", phone_password=password, new_phone=new_phone)


def confirm(client, location: str, code: str):
    return post(client, location, page=location, code=code)


def test_the_number_changes_with_the_password_and_the_new_numbers_code(app, client, person):
    sign_in(client, person["username"], person["password"])
    started = start(client, person["password"])
    assert started.status_code == 303 and started.headers["Location"].startswith("/account/phone/")
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "170****0303" in page
    assert texts(app, person["phone"]) == []  # the code goes to the new number only

    done = confirm(client, started.headers["Location"], last_code(app, NEW))
    assert done.status_code == 303
    assert "手机号码已更换为 170****0303" in client.get("/account").get_data(as_text=True)
    assert phone_of(app, person["id"]) == NEW
    notice = texts(app, person["phone"])
    assert len(notice) == 1 and "170****0303" in notice[0] and "12345" in notice[0]
    # the new number signs in; the old one names no account any more
    assert sign_in(app.test_client(), NEW, person["password"]).headers["Location"] == "/account"
    assert (
        sign_in(app.test_client(), person["phone"], person["password"])
        .headers["Location"]
        .startswith("/login")
    )
    rows = audit(app, "person:phone:changed", person["id"])
    assert [r.detail for r in rows] == [{"old": "170****0101", "new": "170****0303"}]


def test_a_wrong_password_sends_no_code_and_changes_nothing(app, client, person):
    sign_in(client, person["username"], person["password"])
    refused = start(client, "not-my-password-1")
    assert refused.status_code == 303 and refused.headers["Location"].endswith("#change-phone")
    page = client.get("/account").get_data(as_text=True)
    assert "当前密码不正确" in page and 'aria-invalid="true"' in page
    assert texts(app, NEW) == []
    assert phone_of(app, person["id"]) == person["phone"]
    assert len(audit(app, "person:reauthentication:failed", person["id"])) == 1


def test_a_forged_cross_site_post_sends_no_code(app, client, person):
    sign_in(client, person["username"], person["password"])
    forged = client.post(
        "/account/phone", data={"phone_password": person["password"], "new_phone": NEW}
    )
    assert forged.status_code == 400
    assert texts(app, NEW) == []


def test_another_persons_session_cannot_finish_the_change(app, client, person):
    sign_in(client, person["username"], person["password"])
    location = start(client, person["password"]).headers["Location"]
    other_id = make_person(app, **OTHER)
    mallory = app.test_client()
    sign_in(mallory, OTHER["username"], OTHER["password"])
    assert mallory.get(location).status_code == 303  # not their change: nothing to show
    taken = post(mallory, location, code=last_code(app, NEW))  # with their own CSRF token
    assert taken.status_code == 303
    assert phone_of(app, person["id"]) == person["phone"]
    assert phone_of(app, other_id) == OTHER["phone"]
    # the owner can still finish it: the stranger's try did not use the code up
    assert confirm(client, location, last_code(app, NEW)).status_code == 303
    assert phone_of(app, person["id"]) == NEW


def test_a_code_sent_to_another_number_does_not_change_to_this_one(app, client, person):
    sign_in(client, person["username"], person["password"])
    first = start(client, person["password"], NEW).headers["Location"]
    start(client, person["password"], ANOTHER)
    refused = confirm(client, first, last_code(app, ANOTHER))
    assert refused.headers["Location"] == first  # the wrong code, tries counted
    assert "验证码错误，还可尝试 4 次" in client.get(first).get_data(as_text=True)
    assert phone_of(app, person["id"]) == person["phone"]


def test_someone_elses_number_is_refused_without_saying_whose(app, client, person):
    make_person(app, **{**OTHER, "phone": NEW})
    sign_in(client, person["username"], person["password"])
    location = start(client, person["password"]).headers["Location"]
    refused = confirm(client, location, last_code(app, NEW))
    assert refused.headers["Location"].endswith("#change-phone")
    page = client.get("/account").get_data(as_text=True)
    assert "该号码已绑定其他账号" in page and OTHER["username"] not in page
    assert phone_of(app, person["id"]) == person["phone"]
    assert texts(app, person["phone"]) == []  # nothing changed: no notice


def test_codes_for_new_numbers_are_limited_per_person(app, client, person):
    sign_in(client, person["username"], person["password"])
    for n in range(5):
        assert (
            start(client, person["password"], f"1700000040{n}")
            .headers["Location"]
            .startswith("/account/phone/")
        )
    refused = start(client, person["password"], "17000000409")
    assert refused.headers["Location"].endswith("#change-phone")
    assert "请求验证码次数过多" in client.get("/account").get_data(as_text=True)
    assert texts(app, "17000000409") == []


def test_a_new_code_after_the_wait_and_back_to_a_finished_step(app, client, person):
    sign_in(client, person["username"], person["password"])
    location = start(client, person["password"]).headers["Location"]
    first = last_code(app, NEW)
    too_soon = post(client, location + "/resend", page=location)
    assert too_soon.headers["Location"] == location
    assert "验证码每分钟最多发送一次" in client.get(location).get_data(as_text=True)
    assert len(texts(app, NEW)) == 1
    with app.app_context():  # a minute later
        context.store().destroy("sms-recent", hashlib.sha256(NEW.encode()).hexdigest()[:32])
    assert post(client, location + "/resend", page=location).headers["Location"] == location
    assert "新的验证码已发送至 170****0303" in client.get(location).get_data(as_text=True)
    second = last_code(app, NEW)
    if first != second:  # the old code stopped working
        confirm(client, location, first)
        assert phone_of(app, person["id"]) == person["phone"]
    assert confirm(client, location, second).status_code == 303
    assert phone_of(app, person["id"]) == NEW
    back = client.get(location)  # Back to the code page: the step is done, and says so
    assert back.headers["Location"].endswith("/account#profile")
    assert "手机号码已更换为 170****0303" in client.get("/account").get_data(as_text=True)


def test_changing_the_number_keeps_it_typed_and_ends_the_code(app, client, person):
    sign_in(client, person["username"], person["password"])
    location = start(client, person["password"]).headers["Location"]
    code = last_code(app, NEW)
    changed = post(client, location + "/change", page=location)
    assert changed.headers["Location"].endswith("#change-phone")
    assert 'value="17000000303"' in client.get("/account").get_data(as_text=True)
    late = post(client, location, code=code)  # the old page's form, sent anyway
    assert late.headers["Location"] == location
    assert "页面已过期" in client.get(client.get(location).headers["Location"]).get_data(
        as_text=True
    )
    assert phone_of(app, person["id"]) == person["phone"]
