"""An attacker uses real-name proofing as an oracle on the population registry and on our
accounts (issue 11, item 8): a level-2 account (one phone number) sends name and ID-number
guesses. Each account, address and ID number gets a few tries a day, counted before the
registry is asked; every negative outcome reads the same; an identity held by another
account never shows that account's phone. The same limit holds for the face check."""

from __future__ import annotations

import html
import re

import requests
from sqlalchemy import select

from connectors import synthetic
from tests.integration.attacks.conftest import Browser
from tests.integration.attacks.throttle_support import (
    Guarded,
    new_address,
    post_form,
    server_fixture,
    sign_in_from,
)

PER_ACCOUNT = 5  # the defaults
PER_ID_NUMBER = 5
PER_ADDRESS = 8  # set below: cheaper to reach than the default
ALERT = re.compile(r'role="alert">([^<]*)<')
SUMMARY = re.compile(r'class="error-summary" role="alert".*?<li>(?:<a [^>]*>)?([^<]*)<', re.S)
VERIFIED = "/account"  # where a match goes; a refusal comes back to the form
TOMORROW = "请明天再试"

guarded = server_fixture(IDP_REALNAME_TRIES_PER_ADDRESS=str(PER_ADDRESS))


def prove(browser: Browser, name: str, id_number: str) -> requests.Response:
    return post_form(
        browser, "/account/realname", name=name, id_type="resident", id_number=id_number
    )


def alert(response: requests.Response) -> str:
    match = ALERT.search(response.text)
    assert match, response.text[:800]
    return html.unescape(match.group(1)).strip()


def refusal(browser: Browser, name: str, id_number: str) -> str:
    """What the page says after a refused attempt (POST/redirect/GET: every attempt, right
    or wrong, answers 303; a refusal goes back to the form, which says why)."""
    answer = prove(browser, name, id_number)
    assert answer.status_code == 303 and answer.headers["Location"] == "/account/realname", (
        answer.status_code,
        answer.headers.get("Location"),
    )
    return said(browser.get("/account/realname"))


def said(page: requests.Response) -> str:
    """The real-name form's message, at the top of the form."""
    match = SUMMARY.search(page.text)
    assert match, page.text[:800]
    return html.unescape(match.group(1)).strip()


def verified(browser: Browser, name: str, id_number: str) -> bool:
    answer = prove(browser, name, id_number)
    return answer.status_code == 303 and answer.headers["Location"] == VERIFIED


def level(live: Guarded, person_id: str) -> int:
    from idp.accounts.models import Person
    from idp.db import db

    with live.app.app_context():
        person = db.session.get(Person, person_id)
        assert person is not None
        return person.loa


def test_every_negative_outcome_reads_the_same(guarded: Guarded):
    holder, holder_browser = sign_in_from(guarded, new_address())
    taken = guarded.alive(0)
    assert verified(holder_browser, taken.name, taken.id_number)
    attacker, browser = sign_in_from(guarded, new_address())
    dead = guarded.data.persons_with("deceased")[0]
    cancelled = guarded.data.persons_with("cancelled")[0]
    guesses = {
        "no_match": ("测试某某", guarded.alive(1).id_number),
        "deceased": (dead.name, dead.id_number),
        "cancelled": (cancelled.name, cancelled.id_number),
        "identity_taken": (taken.name, taken.id_number),
    }

    answers, pages = {}, {}
    for outcome, guess in guesses.items():  # each refusal, and the page it redirects to
        answers[outcome] = prove(browser, *guess)
        pages[outcome] = browser.get("/account/realname")

    assert {(a.status_code, a.headers["Location"]) for a in answers.values()} == {
        (303, "/account/realname")
    }
    texts = {outcome: said(page) for outcome, page in pages.items()}
    assert len(set(texts.values())) == 1, texts
    masked = f"{holder['phone'][:3]}****{holder['phone'][-4:]}"
    for page in pages.values():
        assert masked not in page.text and holder["phone"][-4:] not in page.text
    # Alike but for what the person typed and the CSRF token (signed with the second it
    # was made, so it changes when the four pages straddle a second).
    typed = re.compile(
        r'(<input (?:id="(?:name|id_number)"|type="hidden" name="csrf_token")[^>]*value=")[^"]*"'
    )
    assert len({typed.sub(r"\1", page.text) for page in pages.values()}) == 1  # alike
    assert level(guarded, attacker["id"]) == 2

    # The administrator still sees what really happened.
    from idp.audit.models import AuditEvent
    from idp.db import db

    with guarded.app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.person_id == attacker["id"])
        ).all()
        seen = {(r.event, (r.detail or {}).get("result")) for r in rows}
    assert ("person:realname:refused", "no_match") in seen
    assert ("person:realname:refused", "deceased") in seen
    assert ("person:realname:refused", "cancelled") in seen
    assert ("person:realname:identity_taken", None) in seen


def test_an_account_gets_a_few_tries_a_day_then_the_registry_is_not_asked(guarded: Guarded):
    attacker, browser = sign_in_from(guarded, new_address())
    for i in range(PER_ACCOUNT):
        guess = guarded.alive(10 + i)
        assert TOMORROW not in refusal(browser, "测试某某", guess.id_number)

    right = guarded.alive(2)
    guarded.registry_mode("fail")  # if it were asked, the answer would be "try later"
    try:
        refused = refusal(browser, right.name, right.id_number)
    finally:
        guarded.registry_mode("normal")
    assert TOMORROW in refused
    again = refusal(browser, right.name, right.id_number)  # the registry is back: still no
    assert TOMORROW in again
    assert level(guarded, attacker["id"]) == 2


def test_an_id_number_gets_a_few_tries_a_day_whoever_asks(guarded: Guarded):
    victim = guarded.alive(3)
    for i in range(PER_ID_NUMBER):
        _, browser = sign_in_from(guarded, new_address())
        assert TOMORROW not in refusal(browser, f"测试猜{i}", victim.id_number)

    person, browser = sign_in_from(guarded, new_address())  # fresh account, fresh address
    assert TOMORROW in refusal(browser, victim.name, victim.id_number)
    assert level(guarded, person["id"]) == 2


def test_an_address_gets_a_few_tries_a_day_whatever_the_account(guarded: Guarded):
    address = new_address()
    for i in range(PER_ADDRESS):
        _, browser = sign_in_from(guarded, address)
        assert TOMORROW not in refusal(browser, "测试某某", guarded.alive(20 + i).id_number)

    person, browser = sign_in_from(guarded, address)
    right = guarded.alive(4)
    assert TOMORROW in refusal(browser, right.name, right.id_number)
    assert level(guarded, person["id"]) == 2

    elsewhere = guarded.browser_from(new_address(), person)  # the same person, elsewhere
    assert elsewhere.sign_in().status_code == 303
    assert verified(elsewhere, right.name, right.id_number)
    assert level(guarded, person["id"]) == 3


def test_a_registry_outage_says_try_later_not_no_match(guarded: Guarded):
    _, browser = sign_in_from(guarded, new_address())
    right = guarded.alive(5)
    guarded.registry_mode("fail")
    try:
        answer = refusal(browser, right.name, right.id_number)
    finally:
        guarded.registry_mode("normal")
    assert "稍后再试" in answer
    assert verified(browser, right.name, right.id_number)


def test_face_checks_are_limited_too(guarded: Guarded):
    """Whoever holds a real-named account (a relative, a thief) gets a few tries a day at
    passing for its owner, not as many as they like."""
    person, browser = sign_in_from(guarded, new_address())
    owner, stranger = guarded.alive(6), guarded.alive(7)
    assert verified(browser, owner.name, owner.id_number)

    def face(template: str, variant: int) -> str:
        """The face page after an attempt (POST/redirect/GET: it says why at the top)."""
        image = synthetic.face_image(template, variant)
        token = synthetic.liveness_token(image)
        answer = post_form(browser, "/account/face", image=image, liveness_token=token)
        assert answer.status_code == 303 and answer.headers["Location"] == "/account/face"
        page = browser.get("/account/face").text
        assert 'class="error-summary"' in page
        return page

    for i in range(PER_ACCOUNT):
        assert "不一致" in face(stranger.photo_template_id, i)
    assert TOMORROW in face(owner.photo_template_id, 0)
    assert level(guarded, person["id"]) == 3
