"""Back to the pages of the other ways in, once the sign-in is finished (issue 14, item
1): the QR tab, the face step-up and the page waiting for the app's step-up of a finished
transaction say the step is done, to the browser that finished it; their forms sent
again change nothing."""

from __future__ import annotations

from connectors import synthetic
from idp.accounts.models import Person
from idp.db import db
from tests.helpers import csrf_token
from tests.integration.channels.test_qr_login import (
    enrol_phone,
    finish,
    phone_answers,
    phone_scans,
    show_qr,
)
from tests.integration.channels.test_step_up_app import StepUp, answer
from tests.integration.oidc.conftest import REDIRECT, Browser, form_of, query_of
from tests.integration.oidc.test_act_for import real_named
from tests.integration.pages_signin.test_back_and_refresh import DONE, request, text

ME = [p for p in synthetic.generate().persons if p.status == "alive"][12]


def test_back_to_the_qr_tab_after_signing_in_says_it_is_done(app, client, person, register):
    rp = register(first_party=True)
    login = request(Browser(client, person), rp).headers["Location"]
    txn_id = query_of(login)["txn"]
    qr_page = login + "&method=qr"
    approval_id = show_qr(client, qr_page)
    device_id = enrol_phone(app, person["id"])
    phone_scans(app, approval_id, person["id"], device_id)
    phone_answers(app, approval_id, person["id"], device_id)
    signed_in = finish(client, approval_id, txn=txn_id)
    assert signed_in.headers["Location"].startswith(REDIRECT + "?code=")

    back = client.get(qr_page + f"&qr={approval_id}")  # Back from the RP
    assert back.status_code == 200 and DONE in text(back)
    assert "data-status-url" not in text(back)  # no new code is drawn for a finished sign-in
    again = finish(client, approval_id, txn=txn_id)  # the button pressed again
    assert "code=" not in again.headers["Location"]
    assert DONE in text(client.get(again.headers["Location"]))


def test_back_to_the_face_step_after_signing_in_says_it_is_done(app, register):
    owner = real_named(app, "17000000961", ME)
    with app.app_context():
        db.session.get(Person, owner["id"]).loa = 4  # proven before, in another session
        db.session.commit()
    browser = Browser(app.test_client(), owner)
    browser.sign_in()  # a password: this session is at loa:3
    rp = register(first_party=True)
    step_up = request(browser, rp, acr_values="urn:cn:gov:idp:loa:4").headers["Location"]
    assert step_up.startswith("/account/face?txn=")
    image = synthetic.face_image(ME.photo_template_id)
    done = browser.client.post(
        "/account/face",
        data={
            "csrf_token": csrf_token(browser.client, step_up),
            "image": image,
            "liveness_token": synthetic.liveness_token(image),
            "txn": query_of(step_up)["txn"],
        },
    )
    assert done.headers["Location"].startswith(REDIRECT + "?code=")
    back = browser.client.get(step_up)  # Back from the RP to the face page
    assert back.status_code == 200 and DONE in text(back)
    assert 'name="image"' not in text(back)  # no face check for a finished sign-in


def test_back_to_the_app_waiting_page_after_signing_in_says_it_is_done(app, me):
    step = StepUp(app, me)
    approval_id = step.ask_app()
    answer(app, approval_id, me)  # the phone approves with a face check
    finished = step.finish(approval_id)
    consent = step.browser.client.get(finished.headers["Location"])
    action, token = form_of(text(consent))
    done = step.browser.client.post(action, data={"csrf_token": token, "decision": "allow"})
    assert "code" in query_of(done.headers["Location"])

    waiting = f"/account/face/app/{approval_id}"
    back = step.browser.client.get(waiting)  # Back from the RP to the waiting page
    assert back.status_code == 200 and DONE in text(back)
    assert "已过期" not in text(back) and "step_up_app.js" not in text(back)
    again = step.finish(approval_id)  # 我已在 App 上确认 pressed once more
    assert again.headers["Location"] == waiting
    assert DONE in text(step.browser.client.get(waiting))
    stranger = Browser(app.test_client(), me)
    stranger.sign_in()  # the same person in another browser is not told about it
    assert DONE not in text(stranger.client.get(waiting))
