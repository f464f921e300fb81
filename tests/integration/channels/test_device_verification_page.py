"""The device grant's browser path ({issuer}/device, RFC 8628 3.3): the person types the
kiosk's code in any browser, confirms who asks, signs in and consents as for any service,
and the kiosk's next poll gets tokens of that sign-in; declining (on the page or at
consent) is access_denied at the kiosk. From the attacker's side: wrong codes typed five
times stop the page taking codes, even a right one, for that browser and that address; a
code the app has taken cannot be typed; the confirmation cannot be posted without the
code, nor without the page's CSRF token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from idp import context
from idp.audit.events import Event
from idp.authn.approvals import ApprovalRefusedError, Approvals
from tests.helpers import CSRF, sign_in
from tests.integration.channels.device_support import (
    Kiosk,
    approval_for,
    audit_rows,
    claims_of,
    enrol_device,
    register_kiosk,
    short_interval,
)

ALLOW, DENY = "allow", "deny"


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    short_interval(monkeypatch)


@pytest.fixture
def kiosk(app: Flask) -> Kiosk:
    return Kiosk(app, register_kiosk(app))


def csrf_of(page: Any) -> str:
    found = CSRF.search(page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)[:500]
    return found.group(1)


def type_code(browser: Any, code: str, address: str = "127.0.0.1") -> Any:
    """The verification page, the code typed into it and sent; the page the answer's
    redirect leads to (the form never answers with a page: Refresh types nothing twice)."""
    where = {"REMOTE_ADDR": address}
    form = browser.get("/device", environ_base=where)
    if b'name="user_code"' not in form.data:  # blocked: no form to type into
        return form
    sent = browser.post(
        "/device", data={"user_code": code, "csrf_token": csrf_of(form)}, environ_base=where
    )
    assert sent.status_code == 303, sent.status_code
    return browser.get(sent.headers["Location"], environ_base=where)


def refused(page: Any) -> bool:
    """The code form drawn again, its message next to the field."""
    html = page.get_data(as_text=True)
    return page.status_code == 200 and 'id="user_code-error"' in html and "aria-invalid" in html


def confirm(browser: Any, page: Any, decision: str = "continue") -> Any:
    return browser.post("/device/confirm", data={"decision": decision, "csrf_token": csrf_of(page)})


def go_on(browser: Any, answer: Any, person: dict[str, str], consent: str = ALLOW) -> Any:
    """Follow the provider's pages as the person would (sign in, consent) to the end."""
    for _ in range(8):
        location = urlsplit(answer.headers.get("Location", "")).path
        if answer.status_code in (302, 303) and location == "/login":
            form = browser.get(answer.headers["Location"])
            txn = answer.headers["Location"].split("txn=")[1].split("&")[0]
            answer = browser.post(
                "/login",
                data={"username": person["username"], "password": person["password"],
                      "csrf_token": csrf_of(form), "txn": txn},
            )  # fmt: skip
        elif answer.status_code in (302, 303):
            answer = browser.get(answer.headers["Location"])
        elif answer.status_code == 200 and b'name="decision" value="allow"' in answer.data:
            html = answer.get_data(as_text=True)
            action = html.split('action="')[1].split('"')[0]
            answer = browser.post(action, data={"csrf_token": csrf_of(answer), "decision": consent})
        else:
            return answer
    raise AssertionError("the pages went round in circles")


# -- the person's path ------------------------------------------------------------------------
def test_a_code_typed_in_a_browser_signs_the_kiosk_in(
    app: Flask, kiosk: Kiosk, person: dict[str, str]
) -> None:
    codes = kiosk.codes()
    browser = app.test_client()
    qr = urlsplit(codes["verification_uri_complete"])  # what the kiosk's QR code holds
    link = browser.get(f"{qr.path}?{qr.query}")
    assert f'value="{codes["user_code"]}"' in link.get_data(as_text=True)  # from the QR link
    typed = codes["user_code"].lower().replace("-", " ")  # as people type it
    page = type_code(browser, typed)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "社保自助终端" in html
    assert 'data-claim="phone_number"' in html and 'data-scope="offline_access"' in html

    done = go_on(browser, confirm(browser, page), person)
    assert done.status_code == 200 and b'data-outcome="done"' in done.data
    answer = kiosk.poll_after_interval(codes["device_code"])
    assert answer.status_code == 200, answer.json
    claims = claims_of(app, answer.json["id_token"])
    assert (claims["amr"], claims["aud"]) == (["pwd"], kiosk.rp.client_id)
    assert answer.json["refresh_token"]
    assert kiosk.poll_after_interval(codes["device_code"]).json["error"] == "invalid_grant"
    assert len(audit_rows(app, Event.device_authorization_approved)) == 1

    # answered in the browser: the app can no longer take it
    found = approval_for(app, codes["user_code"])
    assert found is not None
    with app.app_context(), pytest.raises(ApprovalRefusedError):
        Approvals(context.store()).scan(
            found.id, person_id=person["id"], device_id=enrol_device(app, person["id"])
        )


def test_a_signed_in_browser_only_confirms_and_consents(
    app: Flask, kiosk: Kiosk, person: dict[str, str]
) -> None:
    codes = kiosk.codes()
    browser = app.test_client()
    assert sign_in(browser, person["username"], person["password"]).status_code == 303
    page = type_code(browser, codes["user_code"])
    consent = confirm(browser, page)
    assert urlsplit(consent.headers["Location"]).path.startswith("/signin/")  # no sign-in form
    assert go_on(browser, consent, person).status_code == 200
    assert kiosk.poll_after_interval(codes["device_code"]).status_code == 200


def test_consent_refused_is_access_denied_at_the_kiosk(
    app: Flask, kiosk: Kiosk, person: dict[str, str]
) -> None:
    codes = kiosk.codes()
    browser = app.test_client()
    page = type_code(browser, codes["user_code"])
    declined = go_on(browser, confirm(browser, page), person, DENY)
    assert b'data-outcome="declined"' in declined.data
    answer = kiosk.poll_after_interval(codes["device_code"])
    assert answer.json["error"] == "access_denied"
    assert answer.json["error_description"] == "the person declined"


def test_not_me_is_access_denied_at_the_kiosk(app: Flask, kiosk: Kiosk) -> None:
    codes = kiosk.codes()
    browser = app.test_client()
    answer = confirm(browser, type_code(browser, codes["user_code"]), "deny")
    assert answer.headers["Location"] == "/device/done?declined=1"
    polled = kiosk.poll_after_interval(codes["device_code"])
    assert polled.json["error"] == "access_denied"
    assert "verification page" in polled.json["error_description"]
    assert len(audit_rows(app, Event.device_authorization_denied)) == 1


# -- from the attacker's side -----------------------------------------------------------------
def test_five_wrong_codes_stop_the_page_even_for_a_right_one(app: Flask, kiosk: Kiosk) -> None:
    codes = kiosk.codes()
    guesser = app.test_client()
    for guess in ("BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "FFFF-FFFF"):
        assert refused(type_code(guesser, guess, "10.0.0.1"))
    assert type_code(guesser, "GGGG-GGGG", "10.0.0.1").status_code == 429
    assert type_code(guesser, codes["user_code"], "10.0.0.1").status_code == 429  # even right
    assert type_code(guesser, codes["user_code"], "10.0.0.2").status_code == 429  # same browser
    other = app.test_client()
    assert type_code(other, codes["user_code"], "10.0.0.1").status_code == 429  # same address
    assert type_code(other, codes["user_code"], "10.0.0.3").status_code == 200  # neither
    # the blocked page offers no form to type into
    assert b'name="user_code"' not in type_code(guesser, "x", "10.0.0.1").data


def test_a_code_the_app_has_taken_cannot_be_typed(
    app: Flask, kiosk: Kiosk, person: dict[str, str]
) -> None:
    codes = kiosk.codes()
    found = approval_for(app, codes["user_code"])
    assert found is not None
    with app.app_context():
        device = enrol_device(app, person["id"])
        Approvals(context.store()).scan(found.id, person_id=person["id"], device_id=device)
    assert refused(type_code(app.test_client(), codes["user_code"]))


def test_the_confirmation_needs_the_code_typed_in_this_browser(app: Flask, kiosk: Kiosk) -> None:
    codes = kiosk.codes()
    typed_here = app.test_client()
    type_code(typed_here, codes["user_code"])
    elsewhere = app.test_client()
    page = elsewhere.get("/device")
    assert confirm(elsewhere, page).status_code == 400  # nothing unlocked in this browser
    no_csrf = typed_here.post("/device/confirm", data={"decision": "continue"})
    assert no_csrf.status_code == 400
    assert kiosk.poll(codes["device_code"]).json["error"] == "authorization_pending"


def test_the_page_in_large_text_mode(app: Flask) -> None:
    page = app.test_client().get("/device?mode=large&lang=zh")
    html = page.get_data(as_text=True)
    assert 'class="mode-large"' in html
    assert '<label for="user_code">' in html and 'id="user_code"' in html
