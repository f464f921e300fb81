"""The account centre speaks people's words: what each service may read as the consent page
named it, devices as "Chrome on Windows", with channel and time; addresses in small print."""

from __future__ import annotations

import re

from joserfc.jwk import ECKey

from idp.authn.devices import Devices
from idp.authn.models import Consent
from idp.db import db
from tests.helpers import sign_in

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36"
)
PHONE_UA = "Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile"


def cell(html: str, row_attr: str, field: str) -> str:
    """The text of `field`'s cell in the table row marked `row_attr`."""
    row = html.split(row_attr, 1)[1].split("</tr>", 1)[0]
    found = re.search(rf'data-field="{field}"[^>]*>(.*?)</td>', row, re.S)
    assert found, row
    return found.group(1)


def test_services_are_listed_with_the_consent_pages_words(app, client, person, register):
    rp = register(name="社保系统", scopes=["openid", "profile", "phone", "org", "offline_access"])
    with app.app_context(), db.transaction() as session:
        session.add(
            Consent(
                person_id=person["id"],
                client_id=rp.client_id,
                scopes=["openid", "org", "phone", "profile", "offline_access"],
                claims=[],
            )
        )
    sign_in(client, person["username"], person["password"])
    html = client.get("/account").get_data(as_text=True)
    allowed = cell(html, f'data-consent="{rp.client_id}"', "allowed")
    for words in ("仅供该应用使用的用户标识", "姓名", "用户名", "手机号码", "您代表的单位"):
        assert words in allowed
    assert "openid" not in allowed and "phone_number" not in allowed
    assert allowed.count("<li>") == len(set(re.findall(r"<li>(.*?)</li>", allowed)))


def test_sessions_name_the_browser_and_system_not_the_raw_user_agent(app, person):
    browser = app.test_client()
    browser.environ_base.update(HTTP_USER_AGENT=CHROME_ON_WINDOWS, REMOTE_ADDR="203.0.113.9")
    sign_in(browser, person["username"], person["password"])
    html = browser.get("/account").get_data(as_text=True)
    row = html.split("data-session=", 1)[1].split("</tr>", 1)[0]
    assert cell(html, "data-session=", "device") == "Windows 上的 Chrome"
    assert cell(html, "data-session=", "channel") == "网上办事大厅"
    assert "Mozilla" not in html and "AppleWebKit" not in html
    assert "203.0.113.9" not in cell(html, "data-session=", "device")
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", row)  # when, in China time


def test_app_devices_named_by_a_user_agent_are_shown_by_name(app, client, person):
    with app.app_context(), db.transaction() as session:
        Devices(session).enrol(person["id"], ECKey.generate_key("P-256"), PHONE_UA)
        Devices(session).enrol(person["id"], ECKey.generate_key("P-256"), "小王的手机")
    sign_in(client, person["username"], person["password"])
    html = client.get("/account").get_data(as_text=True)
    names = re.findall(r'data-device="[^"]+">\s*<td data-field="device"[^>]*>(.*?)</td>', html)
    assert sorted(names) == sorted(["Android 上的 Chrome", "小王的手机"])
    assert "Mozilla" not in html
