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

guarded = server_fixture()


def _victims(live: Guarded, count: int) -> list[str]:
    return [live.person()["username"] for _ in range(count)]


def test_taken_user_names_cost_tries_of_the_code(guarded: Guarded):
    victims = _victims(guarded, 10)
    phone, address = new_phone(), new_address()
    browser = guarded.browser_from(address)
    path = start_flow(browser, "register", phone)
    code = guarded.sms_code(phone)

    answers = []
    for username in victims:
        form = {"code": code, "username": username, "password": PASSWORD}
        answers.append(browser.post(path, {**form, "csrf_token": browser.csrf(path)}))

    told = [a for a in answers if TAKEN in a.text]
    assert len(told) == MAX_TRIES - 1, [a.status_code for a in answers]
    assert "还可尝试 1 次" in told[-1].text
    rest = answers[len(told) :]
    assert all(a.is_redirect and a.headers["Location"].endswith("/register") for a in rest)

    form = {"code": code, "username": f"fresh{phone[-6:]}", "password": PASSWORD}
    late = browser.post(path, {**form, "csrf_token": browser.csrf(path)})
    assert late.is_redirect and late.headers["Location"].endswith("/register")  # code is dead


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

    answers = at_once(len(browsers), lambda i: browsers[i].post(path, forms[i]))

    told = [a for a in answers if TAKEN in a.text]
    assert len(told) <= MAX_TRIES - 1, len(told)


def test_a_free_user_name_after_a_taken_one_still_registers(guarded: Guarded):
    """The person who picked a taken name by chance just picks another."""
    [victim] = _victims(guarded, 1)
    phone, address = new_phone(), new_address()
    browser = guarded.browser_from(address)
    path = start_flow(browser, "register", phone)
    code = guarded.sms_code(phone)
    form = {"code": code, "password": PASSWORD}
    taken = browser.post(path, {**form, "username": victim, "csrf_token": browser.csrf(path)})
    assert TAKEN in taken.text and "还可尝试 4 次" in taken.text
    mine = f"mine{phone[-6:]}"
    made = browser.post(path, {**form, "username": mine, "csrf_token": browser.csrf(path)})
    assert made.is_redirect and made.headers["Location"] == "/account/realname"
