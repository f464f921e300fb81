"""Password sign-in from the attacker's side, on both backends."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from idp.audit.models import AuditEvent
from idp.db import db
from idp.web.security import SSO_COOKIE
from tests.helpers import CSRF, cookie, csrf_token, sign_in


def events(app, name: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def test_good_password_signs_in_and_shows_the_account_centre(app, client, person):
    response = sign_in(client, person["username"], person["password"])
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    page = client.get("/account")
    assert page.status_code == 200
    assert "170****0101" in page.get_data(as_text=True)
    [event] = events(app, "person:login:succeeded")
    assert event.person_id == person["id"] and event.channel == "web"
    assert event.detail["amr"] == ["pwd"]


def test_phone_number_works_as_the_account(client, person):
    assert sign_in(client, "170 0000 0101", person["password"]).headers["Location"] == "/account"


def test_post_without_csrf_token_is_refused_and_signs_nobody_in(app, client, person):
    response = client.post(
        "/login", data={"username": person["username"], "password": person["password"]}
    )
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    assert cookie(client, SSO_COOKIE) is None
    assert events(app, "person:login:succeeded") == []


def test_csrf_token_from_another_browser_is_refused(app, person):
    attacker, victim = app.test_client(), app.test_client()
    token = csrf_token(attacker)
    csrf_token(victim)
    response = victim.post(
        "/login",
        data={"username": person["username"], "password": person["password"], "csrf_token": token},
    )
    assert response.status_code == 400
    assert cookie(victim, SSO_COOKIE) is None


def test_unknown_user_and_wrong_password_look_the_same(app, person):
    wrong = sign_in(app.test_client(), person["username"], "not-the-password")
    unknown = sign_in(app.test_client(), "nobody-here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 303
    assert wrong.headers["Location"] == unknown.headers["Location"] == "/login"
    assert wrong.get_data() == unknown.get_data()
    messages = []
    for client, name in (
        (app.test_client(), person["username"]),
        (app.test_client(), "nobody-here"),
    ):
        sign_in(client, name, "not-the-password")
        html = client.get("/login").get_data(as_text=True)
        page = re.sub(r'name="csrf_token" value="[^"]+"', "", html.replace(name, "<typed>"))
        messages.append(page)
    assert messages[0] == messages[1]
    assert "账号或密码错误" in messages[0]


@pytest.mark.slow
def test_account_blocked_after_100_consecutive_failures(make_app):
    app = make_app(login_max_failures=100)
    from idp import context

    with app.app_context(), db.transaction() as session:
        context.accounts().create_person(
            session, username="bob", phone="17000000102", password="teapot-harbour-2026"
        )
    client = app.test_client()
    for attempt in range(100):
        response = sign_in(client, "bob", f"wrong-{attempt}")
        assert response.status_code == 303, f"attempt {attempt + 1} was not a plain failure"
    blocked = sign_in(client, "bob", "teapot-harbour-2026")  # the 101st, with the RIGHT password
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "失败次数过多" in blocked.get_data(as_text=True)
    assert cookie(client, SSO_COOKIE) is None
    assert len(events(app, "person:account:locked")) == 1
    # an administrator lifts the block
    with app.app_context():
        from idp.accounts.throttle import account_key

        person_id = context.accounts().find_by_login(db.session, "bob").id
        context.login_throttle().unblock(account_key(person_id, "bob"))
    assert sign_in(client, "bob", "teapot-harbour-2026").headers["Location"] == "/account"


def test_unknown_accounts_block_like_real_ones(make_app):
    app = make_app(login_max_failures=3)
    client = app.test_client()
    for _ in range(3):
        assert sign_in(client, "ghost", "wrong-password").status_code == 303
    assert sign_in(client, "ghost", "wrong-password").status_code == 429


def test_failures_per_address_are_limited_across_accounts(make_app):
    app = make_app(login_address_max_failures=10)
    client = app.test_client()
    for n in range(10):
        assert sign_in(client, f"user{n}", "wrong-password").status_code == 303
    assert sign_in(client, "someone-else", "wrong-password").status_code == 429


def test_a_good_sign_in_resets_the_failure_count(make_app):
    app = make_app(login_max_failures=3)
    from idp import context

    with app.app_context(), db.transaction() as session:
        context.accounts().create_person(
            session, username="carol", phone="17000000103", password="teapot-harbour-2026"
        )
    client = app.test_client()
    for _ in range(2):
        sign_in(client, "carol", "wrong-password")
    assert sign_in(client, "carol", "teapot-harbour-2026").status_code == 303
    for _ in range(2):
        assert sign_in(client, "carol", "wrong-password").status_code == 303


def test_session_cookie_changes_at_sign_in(app, person):
    client = app.test_client()
    sign_in(client, person["username"], person["password"])
    first = cookie(client, SSO_COOKIE)
    sign_in(client, person["username"], person["password"])  # e.g. a fixated cookie re-used
    second = cookie(client, SSO_COOKIE)
    assert first and second and first != second
    # the replaced cookie no longer works anywhere
    stale = app.test_client()
    stale.set_cookie(SSO_COOKIE, first)
    assert stale.get("/account").status_code == 303


def test_session_cookie_attributes(app, person):
    client = app.test_client()
    response = sign_in(client, person["username"], person["password"])
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(SSO_COOKIE))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Secure" not in header  # the test issuer is http on loopback


def test_secure_cookie_when_issuer_is_https(make_app):
    app = make_app(issuer="https://idp.example.test")
    from idp import context

    with app.app_context(), db.transaction() as session:
        context.accounts().create_person(
            session, username="dave", phone="17000000104", password="teapot-harbour-2026"
        )
    client = app.test_client()
    html = client.get("/login", base_url="https://idp.example.test").get_data(as_text=True)
    token = CSRF.search(html).group(1)
    response = client.post(
        "/login",
        base_url="https://idp.example.test",
        headers={"Referer": "https://idp.example.test/login"},
        data={"username": "dave", "password": "teapot-harbour-2026", "csrf_token": token},
    )
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(SSO_COOKIE))
    assert "Secure" in header
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_logged_out_cookie_no_longer_works(app, person):
    client = app.test_client()
    sign_in(client, person["username"], person["password"])
    token_value = cookie(client, SSO_COOKIE)
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    assert response.status_code == 303
    assert cookie(client, SSO_COOKIE) is None
    replay = app.test_client()
    replay.set_cookie(SSO_COOKIE, token_value)
    response = replay.get("/account")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert len(events(app, "person:session:ended")) == 1


def test_logout_needs_csrf(app, person):
    client = app.test_client()
    sign_in(client, person["username"], person["password"])
    assert client.post("/logout").status_code == 400
    assert client.get("/account").status_code == 200


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil", "javascript:alert(1)"]
)
def test_next_never_leaves_the_site(client, person, target):
    response = sign_in(client, person["username"], person["password"], next=target)
    assert response.headers["Location"] == "/account"


def test_next_keeps_a_local_path(client, person):
    response = sign_in(client, person["username"], person["password"], next="/account#sessions")
    assert response.headers["Location"] == "/account#sessions"


def test_security_headers_on_every_page(client):
    for path in ("/login", "/nope", "/account"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_english_switch_is_remembered(client):
    html = client.get("/login?lang=en").get_data(as_text=True)
    assert "Sign in" in html and 'lang="en"' in html
    html = client.get("/login").get_data(as_text=True)
    assert "Unified Identity Authentication Platform" in html
    html = client.get("/login?lang=zh").get_data(as_text=True)
    assert "统一身份认证平台" in html and 'lang="zh-CN"' in html


def test_chinese_is_the_default_and_accept_language_is_honoured(app):
    assert "登录" in app.test_client().get("/login").get_data(as_text=True)
    html = app.test_client().get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Password" in html.get_data(as_text=True)


def test_switching_language_keeps_where_the_person_was_going(client):
    html = client.get("/login?next=/account%23sessions").get_data(as_text=True)
    assert 'href="/login?next=%2Faccount%23sessions&amp;lang=en"' in html
    html = client.get("/login?next=/account%23sessions&lang=en").get_data(as_text=True)
    assert 'name="next" value="/account#sessions"' in html
