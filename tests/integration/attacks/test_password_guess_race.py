"""An attacker sends wrong passwords all at once (the class of issue 11, item 7, at the
sign-in form): a burst must not buy more guesses than IDP_LOGIN_MAX_FAILURES (20), and
the account stays blocked afterwards, even for the right password. Over HTTP, against
`idp serve` with two workers."""

from __future__ import annotations

from tests.integration.attacks.conftest import Live
from tests.integration.attacks.throttle_support import at_once

MAX_FAILURES = 20  # the default
RACERS = 32


def test_a_burst_of_wrong_passwords_gets_no_more_guesses_than_the_limit(live: Live) -> None:
    person = live.person()
    browsers = [live.browser(person) for _ in range(RACERS)]
    forms = [
        {
            "username": person["username"],
            "password": f"wrong-guess-{i}",
            "csrf_token": b.csrf("/login"),
        }
        for i, b in enumerate(browsers)
    ]

    answers = at_once(RACERS, lambda i: browsers[i].post("/login", forms[i]))

    judged = [a for a in answers if a.status_code == 303]
    blocked = [a for a in answers if a.status_code == 429]
    assert len(judged) + len(blocked) == RACERS
    assert len(judged) <= MAX_FAILURES, len(judged)
    assert all(a.headers.get("Retry-After") for a in blocked)
    late = live.browser(person).sign_in()
    assert late.status_code == 429  # the right password too, until the block ends
