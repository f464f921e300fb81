"""Adding or changing a user name: the rules (length, characters, a letter first so that it
never reads as a phone or ID number, reserved names, unique whatever the case)."""

from __future__ import annotations

import pytest

from tests.helpers import sign_in
from tests.integration.account_life.support import OTHER, audit, make_person, person_row, post


def change(client, name: str):
    return post(client, "/account/username", username=name)


def test_a_person_without_a_user_name_adds_one_and_signs_in_with_it(app, client):
    person_id = make_person(app, phone="17000000111", password="teapot-harbour-2026")
    sign_in(client, "17000000111", "teapot-harbour-2026")
    page = client.get("/account").get_data(as_text=True)
    assert "设置用户名" in page
    assert change(client, "Carol.Li").status_code == 303
    assert "用户名已改为 carol.li" in client.get("/account").get_data(as_text=True)
    assert person_row(app, person_id).username == "carol.li"
    # any case signs in
    assert (
        sign_in(app.test_client(), "CAROL.LI", "teapot-harbour-2026").headers["Location"]
        == "/account"
    )
    assert [r.detail for r in audit(app, "person:username:changed", person_id)] == [
        {"had_one": False}
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("17000000999", "须以字母开头"),  # would read as a phone number
        ("11010519491231002X", "须以字母开头"),  # would read as an ID number
        ("ab", "3 至 64 个字符"),
        ("a" * 65, "3 至 64 个字符"),
        ("li wei", "3 至 64 个字符"),
        ("张三", "3 至 64 个字符"),
        ("Admin", "系统保留"),
        ("BOB", "已被使用"),  # bob's, whatever the case
    ],
)
def test_refused_names_change_nothing_and_say_why(app, client, person, name, message):
    make_person(app, **OTHER)
    sign_in(client, person["username"], person["password"])
    refused = change(client, name)
    assert refused.headers["Location"].endswith("#change-username")
    page = client.get("/account").get_data(as_text=True)
    assert message in page and 'aria-invalid="true"' in page
    assert f'value="{name}"' in page  # what was typed is kept
    assert person_row(app, person["id"]).username == "alice"
    assert audit(app, "person:username:changed") == []


def test_a_forged_cross_site_post_changes_nothing(app, client, person):
    sign_in(client, person["username"], person["password"])
    forged = client.post("/account/username", data={"username": "mallory"})
    assert forged.status_code == 400
    assert person_row(app, person["id"]).username == "alice"


def test_signed_out_nobody_can_change_a_name(app, client, person):
    refused = client.post("/account/username", data={"username": "mallory"})
    assert refused.status_code in (303, 400)
    assert person_row(app, person["id"]).username == "alice"
