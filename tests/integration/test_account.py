"""The account centre: password change, session list, ending sessions, timeouts."""

from __future__ import annotations

import re
import time

from sqlalchemy import select

from idp import context
from idp.accounts.models import Person
from idp.accounts.sessions import SessionStore
from idp.audit.models import AuditEvent
from idp.db import db
from idp.web.security import SSO_COOKIE
from tests.helpers import cookie, csrf_token, sign_in

NEW_PASSWORD = "lantern-river-9072"


def change_password(client, current: str, new: str, confirm: str | None = None):
    token = csrf_token(client, "/account")
    return client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


def session_ids(html: str) -> list[str]:
    return re.findall(r'data-session="([0-9a-f]+)"', html)


def audit(app, name: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def test_password_change_ends_other_sessions_and_old_password_stops_working(app, person):
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, person["username"], person["password"])
    sign_in(elsewhere, person["username"], person["password"])

    response = change_password(here, person["password"], NEW_PASSWORD)
    assert response.status_code == 303
    page = here.get("/account").get_data(as_text=True)
    assert "密码已修改" in page
    assert elsewhere.get("/account").status_code == 303  # signed out by the change
    assert (
        sign_in(app.test_client(), person["username"], person["password"]).headers["Location"]
        == "/login"
    )
    assert (
        sign_in(app.test_client(), person["username"], NEW_PASSWORD).headers["Location"]
        == "/account"
    )
    assert len(audit(app, "person:password:changed")) == 1


def test_wrong_current_password_changes_nothing(app, client, person):
    sign_in(client, person["username"], person["password"])
    change_password(client, "not-my-password", NEW_PASSWORD)
    assert "当前密码不正确" in client.get("/account").get_data(as_text=True)
    assert (
        sign_in(app.test_client(), person["username"], person["password"]).headers["Location"]
        == "/account"
    )
    assert len(audit(app, "person:password:change_failed")) == 1


def test_guessing_the_current_password_is_throttled(make_app):
    app = make_app(login_max_failures=3)
    with app.app_context(), db.transaction() as session:
        context.accounts().create_person(
            session, username="erin", phone="17000000105", password="teapot-harbour-2026"
        )
    client = app.test_client()
    sign_in(client, "erin", "teapot-harbour-2026")
    for n in range(3):
        assert change_password(client, f"guess-{n}-abc", NEW_PASSWORD).status_code == 303
    blocked = change_password(client, "teapot-harbour-2026", NEW_PASSWORD)
    assert blocked.status_code == 429
    assert "尝试次数过多" in blocked.get_data(as_text=True)


def test_new_password_rules(client, person):
    sign_in(client, person["username"], person["password"])
    cases = [
        ("short1", None, "至少需要 8 个字符"),
        ("password123", None, "过于常见"),
        ("alice-in-wonderland", None, "不能包含您的用户名"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "不一致"),
    ]
    for new, confirm, message in cases:
        change_password(client, person["password"], new, confirm)
        assert message in client.get("/account").get_data(as_text=True), new


def test_long_unicode_passwords_are_accepted_untruncated(app, client, person):
    long_password = "长城万里长" * 40 + "-end"  # 204 characters, CJK
    sign_in(client, person["username"], person["password"])
    change_password(client, person["password"], long_password)
    assert (
        sign_in(app.test_client(), person["username"], long_password).headers["Location"]
        == "/account"
    )
    truncated = long_password[:72]  # bcrypt-style truncation must not sign anyone in
    assert sign_in(app.test_client(), person["username"], truncated).headers["Location"] == "/login"


def test_sessions_list_and_end_another_session(app, person):
    a, b = app.test_client(), app.test_client()
    sign_in(a, person["username"], person["password"])
    sign_in(b, person["username"], person["password"])
    html = a.get("/account").get_data(as_text=True)
    ids = session_ids(html)
    assert len(ids) == 2
    current = re.search(r'data-session="([0-9a-f]+)" class="current"', html).group(1)
    other = next(i for i in ids if i != current)

    token = csrf_token(a, "/account")
    response = a.post(f"/account/sessions/{other}/end", data={"csrf_token": token})
    assert response.status_code == 303
    assert b.get("/account").status_code == 303
    assert session_ids(a.get("/account").get_data(as_text=True)) == [current]


def test_ending_your_own_session_signs_you_out(app, client, person):
    sign_in(client, person["username"], person["password"])
    html = client.get("/account").get_data(as_text=True)
    [mine] = session_ids(html)
    client.post(
        f"/account/sessions/{mine}/end", data={"csrf_token": csrf_token(client, "/account")}
    )
    assert cookie(client, SSO_COOKIE) is None
    assert client.get("/account").status_code == 303


def test_cannot_end_someone_elses_session(app, person):
    with app.app_context(), db.transaction() as session:
        context.accounts().create_person(
            session, username="mallory", phone="17000000106", password="teapot-harbour-2026"
        )
    victim, attacker = app.test_client(), app.test_client()
    sign_in(victim, person["username"], person["password"])
    [victim_session] = session_ids(victim.get("/account").get_data(as_text=True))
    sign_in(attacker, "mallory", "teapot-harbour-2026")
    attacker.post(
        f"/account/sessions/{victim_session}/end",
        data={"csrf_token": csrf_token(attacker, "/account")},
    )
    assert victim.get("/account").status_code == 200


def test_end_all_other_sessions(app, person):
    clients = [app.test_client() for _ in range(3)]
    for c in clients:
        sign_in(c, person["username"], person["password"])
    keep = clients[0]
    keep.post("/account/sessions/end-others", data={"csrf_token": csrf_token(keep, "/account")})
    assert keep.get("/account").status_code == 200
    assert [c.get("/account").status_code for c in clients[1:]] == [303, 303]


def test_account_centre_needs_a_session(client):
    response = client.get("/account")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=/account")


def _shift_clock(monkeypatch, since: float, seconds: int) -> None:
    """Pretend `seconds` have passed since `since` (a real time.time() reading)."""
    import idp.accounts.sessions as sessions_module

    monkeypatch.setattr(sessions_module.time, "time", lambda: since + seconds)


def test_idle_timeout_ends_the_session(make_app, monkeypatch):
    app = make_app(session_idle_timeout=60)
    with app.app_context(), db.transaction() as session:
        context.accounts().create_person(
            session, username="frank", phone="17000000107", password="teapot-harbour-2026"
        )
    client = app.test_client()
    sign_in(client, "frank", "teapot-harbour-2026")
    signed_in = time.time()
    _shift_clock(monkeypatch, signed_in, 30)
    assert client.get("/account").status_code == 200  # activity resets the idle timer
    _shift_clock(monkeypatch, signed_in, 30 + 62)
    assert client.get("/account").status_code == 303


def test_absolute_timeout_ends_an_active_session(make_app, monkeypatch):
    app = make_app(session_idle_timeout=300, session_absolute_timeout=600)
    with app.app_context(), db.transaction() as session:
        context.accounts().create_person(
            session, username="grace", phone="17000000108", password="teapot-harbour-2026"
        )
    client = app.test_client()
    sign_in(client, "grace", "teapot-harbour-2026")
    signed_in = time.time()
    for minute in (4, 8):  # active every four minutes: never idle for five
        _shift_clock(monkeypatch, signed_in, minute * 60)
        assert client.get("/account").status_code == 200
    _shift_clock(monkeypatch, signed_in, 601)
    assert client.get("/account").status_code == 303


def test_session_record_carries_person_channel_and_assurance(app, client, person):
    sign_in(client, person["username"], person["password"])
    with app.app_context():
        store: SessionStore = context.sessions()
        [sso] = store.list_for_person(person["id"])
    assert sso.channel == "web" and sso.amr == ["pwd"]
    assert sso.acr == "urn:cn:gov:idp:loa:2"
    assert sso.auth_time > 0


def test_password_hash_is_upgraded_when_parameters_change(make_app, backend):
    weak = make_app(password_time_cost=1, password_memory_kib=8192)
    with weak.app_context(), db.transaction() as session:
        context.accounts().create_person(
            session, username="heidi", phone="17000000109", password="teapot-harbour-2026"
        )
    stronger = make_app(password_time_cost=2, password_memory_kib=8192)
    sign_in(stronger.test_client(), "heidi", "teapot-harbour-2026")
    with stronger.app_context():
        person = db.session.scalar(select(Person).where(Person.username == "heidi"))
        stored = person.credential("password").secret
    assert stored.startswith("$argon2id$") and ",t=2," in stored
