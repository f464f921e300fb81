"""The person's own data (PIPL art. 45): a download of what the provider holds about them
and which service received what and when; full identifiers only with the password again."""

from __future__ import annotations

import json

from tests.helpers import sign_in
from tests.integration.account_life.support import OTHER, audit, make_person, post


def ask(client, password: str = "", form: str = "json"):
    return post(client, "/account/my-data", data_password=password, format=form)


def download(client, password: str = "", form: str = "json"):
    asked = ask(client, password, form)
    assert asked.status_code == 303 and asked.headers["Location"] == "/account/my-data"
    return client.get("/account/my-data")


def test_the_download_holds_profile_sessions_and_what_each_service_received(
    app, browser, rp, person
):
    browser.sign_in()
    browser.code_for(rp, scope="openid phone")  # the service receives the phone number
    got = download(browser.client)
    assert got.status_code == 200 and got.mimetype == "application/json"
    assert got.headers["Content-Disposition"].startswith('attachment; filename="my-data-')
    assert "no-store" in got.headers["Cache-Control"]
    data = json.loads(got.get_data(as_text=True))
    assert data["profile"]["username"] == "alice"
    assert data["profile"]["phone"] == "170****0101"  # no password: masked
    assert data["identifiers_in_full"] is False
    assert len(data["sessions"]) == 1 and data["sessions"][0]["channel"] == "web"
    assert [c["service"] for c in data["consents"]] == ["社保系统"]
    assert "phone_number" in data["consents"][0]["claims"]
    received = data["services_received"]
    assert received[0]["service"] == "社保系统" and "phone_number" in received[0]["claims"]
    assert any(e["event"] == "person:login:succeeded" for e in data["account_events"])
    assert [r.detail for r in audit(app, "person:data:exported", person["id"])] == [{"full": False}]


def test_with_the_password_the_numbers_are_in_full(app, client, person):
    sign_in(client, person["username"], person["password"])
    data = json.loads(download(client, person["password"]).get_data(as_text=True))
    assert data["profile"]["phone"] == person["phone"] and data["identifiers_in_full"]


def test_a_readable_page_can_be_downloaded_too(app, client, person):
    sign_in(client, person["username"], person["password"])
    got = download(client, form="html")
    assert got.mimetype == "text/html"
    assert got.headers["Content-Disposition"].endswith('.html"')
    page = got.get_data(as_text=True)
    assert "我的数据" in page and "170****0101" in page and person["phone"] not in page


def test_a_wrong_password_downloads_nothing(app, client, person):
    sign_in(client, person["username"], person["password"])
    refused = ask(client, "not-my-password-1")
    assert refused.headers["Location"].endswith("#my-data")
    assert "当前密码不正确" in client.get("/account").get_data(as_text=True)
    assert client.get("/account/my-data").status_code == 303  # nothing was prepared
    assert audit(app, "person:data:exported") == []


def test_the_file_is_handed_out_once_and_only_to_the_session_that_asked(app, client, person):
    sign_in(client, person["username"], person["password"])
    assert ask(client).status_code == 303
    make_person(app, **OTHER)
    other = app.test_client()
    sign_in(other, OTHER["username"], OTHER["password"])
    assert other.get("/account/my-data").status_code == 303  # bob asked for nothing
    assert client.get("/account/my-data").status_code == 200
    assert client.get("/account/my-data").status_code == 303  # a reload: ask again
    assert len(audit(app, "person:data:exported")) == 1


def test_a_forged_cross_site_post_prepares_nothing(app, client, person):
    sign_in(client, person["username"], person["password"])
    forged = client.post("/account/my-data", data={"format": "json"})
    assert forged.status_code == 400
    assert client.get("/account/my-data").status_code == 303
    assert audit(app, "person:data:exported") == []
