"""An attacker with one SMS code tests which user names exist (issue 11, item 9): "user name
taken" must use up a try of the code like a wrong code, one at a time or all at once."""

from __future__ import annotations

from tests.integration.attacks.throttle_support import (
    PASSWORD,
    Guarded,
    at_once,
    new_address,
    new_phone,
    server_fixture,
    start_flow,
)

MAX_TRIES = 5
TAKEN = "该用户名已被使用"
DEAD = "验证码已失效"  # the code page once the code is dead

guarded = server_fixture()


def _victims(live: Guarded, count: int) -> list[str]:
    return [live.person()["username"] for _ in range(count)]


def test_taken_user_names_cost_tries_of_the_code(guarded: Guarded):
    victims = _victims(guarded, 10)
    phone, address = new_phone(), new_address()
    browser = guarded.browser_from(address)
    path = start_flow(browser, "register", phone)
    code = guarded.sms_code(phone)

    pages = []
    for username in victims:
        form = {"code": code, "username": username, "password": PASSWORD}
        answer = browser.post(path, {**form, "csrf_token": browser.csrf(path)})
        assert answer.is_redirect and answer.headers["Location"] == path
        pages.append(browser.get(path).text)  # what the person is told, after the redirect

    told = [page for page in pages if TAKEN in page]
    assert len(told) == MAX_TRIES - 1, len(told)
    assert "还可尝试 1 次" in told[-1]
    rest = pages[len(told) :]
    assert all(DEAD in page and TAKEN not in page for page in rest)

    form = {"code": code, "username": f"fresh{phone[-6:]}", "password": PASSWORD}
    late = browser.post(path, {**form, "csrf_token": browser.csrf(path)})
    assert late.is_redirect and DEAD in browser.get(path).text  # code is dead


def test_taken_user_names_sent_at_once_tell_no_more(guarded: Guarded):
    victims = _victims(guarded, 16)
    phone, address = new_phone(), new_address()
    path = start_flow(guarded.browser_from(address), "register", phone)
    code = guarded.sms_code(phone)
    browsers = [guarded.browser_from(address) for _ in victims]
    forms = [
        {"code": code, "username": name, "password": PASSWORD, "csrf_token": b.csrf(path)}
        for name, b in zip(victims, browsers, strict=True)
    ]

    at_once(len(browsers), lambda i: browsers[i].post(path, forms[i]))

    told = [b for b in browsers if TAKEN in b.get(path).text]  # each browser's own answer
    assert len(told) <= MAX_TRIES - 1, len(told)


def test_a_free_user_name_after_a_taken_one_still_registers(guarded: Guarded):
    """The person who picked a taken name by chance just picks another."""
    [victim] = _victims(guarded, 1)
    phone, address = new_phone(), new_address()
    browser = guarded.browser_from(address)
    path = start_flow(browser, "register", phone)
    code = guarded.sms_code(phone)
    form = {"code": code, "password": PASSWORD}
    browser.post(path, {**form, "username": victim, "csrf_token": browser.csrf(path)})
    taken = browser.get(path).text
    assert TAKEN in taken and "还可尝试 4 次" in taken
    mine = f"mine{phone[-6:]}"
    made = browser.post(path, {**form, "username": mine, "csrf_token": browser.csrf(path)})
    assert made.is_redirect and made.headers["Location"] == "/account/realname"
