"""Real-person verification (实人): a live face against the registry photo, loa:4."""

from __future__ import annotations

from connectors import synthetic
from idp import context
from idp.accounts.models import Person
from idp.db import db
from tests.helpers import csrf_token
from tests.integration.oidc.conftest import Browser, form_of, redeem
from tests.integration.oidc.test_act_for import real_named
from tests.integration.oidc.test_code_flow import verify

ALIVE = [p for p in synthetic.generate().persons if p.status == "alive"]
ME, SOMEONE_ELSE = ALIVE[10], ALIVE[11]


def post_face(client, image: str, token: str):
    return client.post(
        "/account/face",
        data={
            "csrf_token": csrf_token(client, "/account/face"),
            "image": image,
            "liveness_token": token,
        },
    )


def loa(app, person_id: str) -> int:
    with app.app_context():
        return db.session.get(Person, person_id).loa


def test_live_matching_face_reaches_loa4_and_the_session_carries_it(app, register):
    me = real_named(app, "17000000901", ME)
    browser = Browser(app.test_client(), me)
    browser.sign_in()
    image = synthetic.face_image(ME.photo_template_id)
    response = post_face(browser.client, image, synthetic.liveness_token(image))
    assert response.status_code == 303 and loa(app, me["id"]) == 4
    rp = register()
    code, verifier = browser.code_for(rp, acr_values="urn:cn:gov:idp:loa:4")
    claims = verify(app, redeem(app.test_client(), rp, code, verifier).json["id_token"])
    assert claims["acr"] == "urn:cn:gov:idp:loa:4"
    assert claims["amr"] == ["pwd", "face", "mfa"]


def test_refusals_change_nothing(app):
    me = real_named(app, "17000000902", ME)
    browser = Browser(app.test_client(), me)
    browser.sign_in()
    other = synthetic.face_image(SOMEONE_ELSE.photo_template_id)
    mine = synthetic.face_image(ME.photo_template_id)
    cases = [
        (other, synthetic.liveness_token(other), "不一致"),
        (mine, synthetic.liveness_token(other), "活体检测未通过"),
    ]
    for image, token, message in cases:
        response = post_face(browser.client, image, token)
        assert response.status_code == 303  # said on the page drawn again: Refresh sends nothing
        page = browser.client.get(response.headers["Location"]).get_data(as_text=True)
        assert message in page and 'class="error-summary"' in page
    assert loa(app, me["id"]) == 3


def test_face_needs_a_real_name_first(app, person):
    browser = Browser(app.test_client(), person)
    browser.sign_in()
    image = synthetic.face_image(ME.photo_template_id)
    response = post_face(browser.client, image, synthetic.liveness_token(image))
    page = browser.client.get(response.headers["Location"]).get_data(as_text=True)
    assert response.status_code == 303 and "请先完成实名认证" in page
    assert loa(app, person["id"]) == 2


def test_face_service_down_says_try_later(app):
    me = real_named(app, "17000000903", ME)
    browser = Browser(app.test_client(), me)
    browser.sign_in()
    with app.app_context():
        context.connectors().face.available = False
    try:
        image = synthetic.face_image(ME.photo_template_id)
        response = post_face(browser.client, image, synthetic.liveness_token(image))
    finally:
        with app.app_context():
            context.connectors().face.available = True
    assert response.status_code == 303 and loa(app, me["id"]) == 3
    assert "稍后" in browser.client.get(response.headers["Location"]).get_data(as_text=True)


def test_rp_asking_loa4_gets_a_face_step_up_then_the_code(app, register):
    from tests.integration.oidc.conftest import pkce, query_of

    me = real_named(app, "17000000904", ME)
    with app.app_context():
        db.session.get(Person, me["id"]).loa = 4  # proven before, in another session
        db.session.commit()
    browser = Browser(app.test_client(), me)
    browser.sign_in()  # a password: this session is at loa:3
    rp = register()
    verifier, challenge = pkce()
    response = browser.open_authorize(
        rp,
        scope="openid",
        state="s",
        nonce="n",
        code_challenge=challenge,
        code_challenge_method="S256",
        acr_values="urn:cn:gov:idp:loa:4",
    )
    step_up = response.headers["Location"]
    assert step_up.startswith("/account/face?txn=")
    txn_id = query_of(step_up)["txn"]
    image = synthetic.face_image(ME.photo_template_id)
    done = browser.client.post(
        "/account/face",
        data={
            "csrf_token": csrf_token(browser.client, step_up),
            "image": image,
            "liveness_token": synthetic.liveness_token(image),
            "txn": txn_id,
        },
    )
    assert done.headers["Location"] == f"/signin/{txn_id}"  # the consent page still to show
    consent = browser.client.get(done.headers["Location"])
    html = consent.get_data(as_text=True)
    action, token = form_of(html)
    code = query_of(
        browser.client.post(action, data={"csrf_token": token, "decision": "allow"}).headers[
            "Location"
        ]
    )["code"]
    claims = verify(app, redeem(app.test_client(), rp, code, verifier).json["id_token"])
    assert claims["acr"] == "urn:cn:gov:idp:loa:4" and "face" in claims["amr"]
