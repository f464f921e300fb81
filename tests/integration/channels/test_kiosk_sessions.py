"""Kiosk sessions end when the person leaves: the kiosk revokes its token (the session and
its grant end with it), or nobody touches the kiosk for IDP_KIOSK_IDLE_TIMEOUT, far
sooner than a web session."""

from __future__ import annotations

import time

from idp import context
from idp.accounts.sessions import SessionStore
from tests.integration.channels.kiosk_support import (
    ME,
    audit,
    real_named,
    register_kiosk,
    register_rp,
    sessions_of,
)
from tests.integration.oidc.conftest import Browser, redeem


def test_revoking_the_kiosks_token_ends_the_visit(app):
    kiosk, me = register_kiosk(app), real_named(app, ME, "17000001301")
    tokens = kiosk.sign_in(ME, ME).json
    [visit] = sessions_of(app, me["id"])
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert app.test_client().get("/userinfo", headers=bearer).status_code == 200

    response = kiosk.revoke(tokens["access_token"])

    assert response.status_code == 200
    assert sessions_of(app, me["id"]) == []
    with app.app_context():
        assert context.sessions().get(visit.id) is None
    assert kiosk.introspect(tokens["access_token"]) == {"active": False}
    assert app.test_client().get("/userinfo", headers=bearer).status_code == 401
    [ended] = audit(app, "person:session:ended")
    assert ended.person_id == me["id"] and ended.session_id == visit.id
    assert ended.detail == {"reason": "kiosk_sign_out", "grants_revoked": 1}
    assert ended.channel == "kiosk"
    # the next person at the kiosk starts afresh; a second revocation changes nothing
    assert kiosk.revoke(tokens["access_token"]).status_code == 200
    assert len(audit(app, "person:session:ended")) == 1


def test_revoking_a_web_rps_token_leaves_the_web_session_alone(app, person):
    rp = register_rp(app)
    browser = Browser(app.test_client(), person)
    code, verifier = browser.code_for(rp)
    tokens = redeem(app.test_client(), rp, code, verifier).json
    response = app.test_client().post(
        "/revoke", data={"token": tokens["access_token"]}, headers=rp.basic
    )
    assert response.status_code == 200
    [web] = sessions_of(app, person["id"])
    assert web.channel == "web"
    assert audit(app, "person:session:ended") == []


def test_a_kiosk_session_and_its_token_last_only_the_kiosk_idle_timeout(make_app):
    app = make_app(kiosk_idle_timeout=15)
    kiosk, me = register_kiosk(app), real_named(app, ME, "17000001302")
    tokens = kiosk.sign_in(ME, ME).json
    assert tokens["expires_in"] == 15  # the access token outlives no kiosk session
    [visit] = sessions_of(app, me["id"])
    assert visit.idle == 15
    with app.app_context():
        left = context.store().ttl("session", visit.id)
    assert 0 < left <= 15  # Redis forgets it by itself: nobody needs to sign it out


def test_a_kiosk_session_left_alone_ends_while_a_web_one_lives_on(app):
    """The same SessionStore rule as IDP_KIOSK_IDLE_TIMEOUT, with a one-second kiosk."""
    with app.app_context():
        sessions = SessionStore(context.store(), 60, 3600, channel_idle={"kiosk": 1})
    web_token, web = sessions.create(
        person_id="p1", channel="web", amr=["pwd"], acr="a", ip=None, user_agent=None
    )
    kiosk_token, at_kiosk = sessions.create(
        person_id="p1", channel="kiosk", amr=["sc", "face"], acr="a", ip=None, user_agent=None
    )
    assert at_kiosk.idle == 1 and web.idle is None
    time.sleep(2.1)
    assert sessions.resolve(kiosk_token) is None
    assert sessions.get(at_kiosk.id) is None
    assert sessions.resolve(web_token) is not None
