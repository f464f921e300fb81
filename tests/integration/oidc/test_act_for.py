"""Acting for an organisation: the chooser at sign-in and the org claim relying parties see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors import synthetic
from idp import context
from idp.accounts.models import Person
from idp.db import db
from realname.agents import authorise_agent, revoke_agent
from realname.legal_persons import register_organization
from tests.integration.oidc.conftest import Browser, form_of, redeem
from tests.integration.oidc.test_code_flow import verify
from tests.integration.org_support import create_person

DATA = synthetic.generate()
ENTERPRISE = next(e for e in DATA.enterprises if e.status == "active")
REP = next(p for p in DATA.persons if p.id_number == ENTERPRISE.legal_rep_id_number)
AGENT = next(p for p in DATA.persons if p.status == "alive" and p is not REP)


def real_named(app, phone: str, who) -> dict[str, str]:
    data = {"username": f"u{phone[-4:]}", "phone": phone, "password": "teapot-harbour-2026"}
    with app.app_context():
        person = create_person(db.session, phone, data["password"], who, data["username"])
        db.session.commit()
        data["id"] = person.id
    return data


def enterprise_with_agent(app):
    rep = real_named(app, "17000000801", REP)
    agent = real_named(app, "17000000802", AGENT)
    with app.app_context():
        rep_person = db.session.get(Person, rep["id"])
        org = register_organization(
            db.session,
            context.accounts(),
            context.connectors().enterprise,
            rep_person,
            ENTERPRISE.uscc,
            ENTERPRISE.name,
        )
        grant = authorise_agent(
            db.session,
            rep_person,
            org,
            db.session.get(Person, agent["id"]),
            ["tax"],
            datetime.now(UTC) + timedelta(days=30),
        )
        db.session.commit()
        return rep, agent, org.id, grant.id


def test_agent_acts_for_the_enterprise_until_revoked(app, register):
    rep, agent, org_id, grant_id = enterprise_with_agent(app)
    rp = register(scopes=["openid", "org"])
    browser = Browser(app.test_client(), agent)
    code, verifier = browser.code_for(rp, scope="openid org", act_for=org_id)
    assert ENTERPRISE.uscc in browser.act_for_page and "本人" in browser.act_for_page
    tokens = redeem(app.test_client(), rp, code, verifier).json
    org = verify(app, tokens["id_token"])["org"]
    assert org == {
        "uscc": ENTERPRISE.uscc,
        "name": ENTERPRISE.name,
        "role": "agent",
        "authorised_scopes": ["tax"],
    }
    info = app.test_client().get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.json["org"]["uscc"] == ENTERPRISE.uscc

    with app.app_context():
        from realname.organizations import AgentAuthorisation

        revoke_agent(
            db.session,
            db.session.get(Person, rep["id"]),
            db.session.get(AgentAuthorisation, grant_id),
        )
        db.session.commit()
    info = app.test_client().get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert "org" not in info.json  # re-checked: the authorisation has ended
    browser.act_for_page = None
    code, verifier = browser.code_for(rp, scope="openid org")
    assert browser.act_for_page is None  # nothing to choose any more
    assert "org" not in verify(app, redeem(app.test_client(), rp, code, verifier).json["id_token"])


def test_choosing_myself_gives_no_org_claim(app, register):
    rep, _, _, _ = enterprise_with_agent(app)
    rp = register(scopes=["openid", "org"])
    code, verifier = Browser(app.test_client(), rep).code_for(rp, scope="openid org")
    assert "org" not in verify(app, redeem(app.test_client(), rp, code, verifier).json["id_token"])


def test_no_memberships_means_no_chooser(app, register):
    enterprise_with_agent(app)
    rp = register(scopes=["openid", "org"])
    outsider = real_named(
        app,
        "17000000803",
        next(p for p in DATA.persons if p.status == "alive" and p not in (REP, AGENT)),
    )
    browser = Browser(app.test_client(), outsider)
    browser.sign_in()
    response = browser.open_step(
        rp, scope="openid org", code_challenge="a" * 43, code_challenge_method="S256"
    )
    assert b'name="act_for"' not in response.data  # no memberships: nothing offered
    assert b'value="allow"' in response.data  # but consent, for the person themselves


def test_a_forged_act_for_choice_is_refused(app, register):
    _, agent, _, _ = enterprise_with_agent(app)
    rp = register(scopes=["openid", "org"])
    browser = Browser(app.test_client(), agent)
    browser.sign_in()
    page = browser.open_step(
        rp, scope="openid org", code_challenge="a" * 43, code_challenge_method="S256"
    )
    html = page.get_data(as_text=True)
    action, token = form_of(html)
    forged = browser.client.post(
        action,
        data={
            "csrf_token": token,
            "decision": "continue",
            "act_for": "00000000-0000-0000-0000-000000000000",
        },
    )
    # nothing chosen: the chooser is drawn again, saying why next to the choice
    assert forged.status_code == 303 and forged.headers["Location"] == action.rsplit("/", 1)[0]
    again = browser.client.get(forged.headers["Location"]).get_data(as_text=True)
    assert 'name="act_for"' in again and 'id="act_for-error"' in again
    assert "您不能（或已不能）代表该单位" in again and 'aria-invalid="true"' in again
