"""An attacker races an SMS code (issue 11, item 7): many wrong guesses at once must not
buy more tries than one at a time, and the right code works once, however many requests
carry it. Over HTTP, against `idp serve` with two workers and one Redis."""

from __future__ import annotations

import pytest

from tests.integration.attacks.throttle_support import (
    PASSWORD,
    TRIES_LEFT,
    Guarded,
    at_once,
    new_address,
    new_phone,
    server_fixture,
    start_flow,
)

MAX_TRIES = 5
RACERS = 24
DEAD = "验证码已失效"  # the code page once the code is dead: ask for a new one there

guarded = server_fixture()


def _wrong(code: str, i: int) -> str:
    return f"{(int(code) + 1 + i) % 1_000_000:06d}"


@pytest.mark.parametrize("kind", ["register", "recover"])
def test_simultaneous_wrong_codes_get_no_more_tries_than_sequential_ones(
    guarded: Guarded, kind: str
):
    phone = new_phone()
    if kind == "recover":
        guarded.person(phone=phone)  # recovery texts only numbers with an account
    address = new_address()
    path = start_flow(guarded.browser_from(address), kind, phone)
    code = guarded.sms_code(phone)
    browsers = [guarded.browser_from(address) for _ in range(RACERS)]
    forms = [
        {"code": _wrong(code, i), "password": PASSWORD, "csrf_token": b.csrf(path)}
        for i, b in enumerate(browsers)
    ]

    answers = at_once(RACERS, lambda i: browsers[i].post(path, forms[i]))

    assert all(a.status_code == 303 and a.headers["Location"] == path for a in answers)
    pages = [browsers[i].get(path).text for i in range(RACERS)]  # each browser's own answer
    tries_left = [int(m.group(1)) for page in pages if (m := TRIES_LEFT.search(page))]
    assert len(tries_left) <= MAX_TRIES - 1, sorted(tries_left)
    assert sorted(tries_left, reverse=True) == list(range(MAX_TRIES - 1, 0, -1))[: len(tries_left)]
    # every other answer says the code is dead, on the same page, with the number kept
    dead = [page for page in pages if not TRIES_LEFT.search(page)]
    assert len(dead) == RACERS - len(tries_left) and all(DEAD in page for page in dead)

    late = browsers[0].post(
        path, {"code": code, "password": PASSWORD, "csrf_token": browsers[0].csrf(path)}
    )
    assert late.is_redirect and late.headers["Location"] == path
    assert DEAD in browsers[0].get(path).text  # the right code, too late: dead


def test_the_right_code_sent_many_times_at_once_makes_one_account(guarded: Guarded):
    phone = new_phone()
    address = new_address()
    path = start_flow(guarded.browser_from(address), "register", phone)
    code = guarded.sms_code(phone)
    browsers = [guarded.browser_from(address) for _ in range(8)]
    forms = [
        {
            "code": code,
            "username": f"racer{i}{phone[-6:]}",
            "password": PASSWORD,
            "csrf_token": b.csrf(path),
        }
        for i, b in enumerate(browsers)
    ]

    answers = at_once(len(browsers), lambda i: browsers[i].post(path, forms[i]))

    made = [a for a in answers if a.is_redirect and a.headers["Location"] == "/account/realname"]
    assert len(made) == 1, [(a.status_code, a.headers.get("Location")) for a in answers]
    from sqlalchemy import func, select

    from idp.accounts.models import Person
    from idp.db import db

    with guarded.app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Person).where(Person.username.like("racer%"))
        )
    assert count == 1


def test_simultaneous_requests_for_a_code_text_the_phone_once(guarded: Guarded):
    """One code a minute per phone, however many requests arrive at once (a texting bomb
    at someone else's number, or a flood of fresh codes to guess at)."""
    phone = new_phone()
    browsers = [guarded.browser_from(new_address()) for _ in range(10)]
    forms = [
        {"phone": phone, "agreement": "yes", "csrf_token": b.csrf("/register")} for b in browsers
    ]

    answers = at_once(len(browsers), lambda i: browsers[i].post("/register", forms[i]))

    started = [a for a in answers if a.is_redirect and a.headers["Location"] != "/register"]
    assert len(started) == 1, [a.headers.get("Location") for a in answers]
    from connectors.sms.govjson import GovJsonSmsGateway

    gateway = GovJsonSmsGateway(guarded.services["sms"], guarded.key, timeout=3)
    try:
        assert len(gateway.outbox(phone)) == 1
    finally:
        gateway.close()
