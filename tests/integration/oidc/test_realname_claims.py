"""The realname scope and assurance levels as relying parties see them."""

from __future__ import annotations

from connectors import synthetic
from idp import context
from idp.accounts.models import Person
from idp.db import db
from realname.proofing import Outcome, prove_real_name
from tests.integration.oidc.conftest import pkce, query_of, redeem
from tests.integration.oidc.test_code_flow import verify

SYNTHETIC = next(p for p in synthetic.generate().persons if p.status == "alive")


def make_real_named(app, person_id: str) -> None:
    with app.app_context():
        person = db.session.get(Person, person_id)
        result = prove_real_name(
            db.session,
            context.accounts(),
            context.connectors().population,
            person,
            name=SYNTHETIC.name,
            id_type="resident",
            id_number=SYNTHETIC.id_number,
            channel="counter",
        )
        assert result.outcome is Outcome.verified
        db.session.commit()


def test_realname_scope_and_loa3_acr_after_verification(app, browser, register, person):
    rp = register(scopes=["openid", "realname"])
    make_real_named(app, person["id"])
    code, verifier = browser.code_for(
        rp, scope="openid realname", acr_values="urn:cn:gov:idp:loa:3"
    )
    tokens = redeem(app.test_client(), rp, code, verifier).json
    assert verify(app, tokens["id_token"])["acr"] == "urn:cn:gov:idp:loa:3"
    info = app.test_client().get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.json["name"] == SYNTHETIC.name
    assert info.json["real_name_verified"] is True and info.json["loa"] == 3
    assert SYNTHETIC.id_number not in info.get_data(as_text=True)  # idcard scope only


def test_unverified_person_cannot_reach_loa3(app, browser, register):
    rp = register(scopes=["openid", "realname"])
    browser.sign_in()
    response = browser.authorize(
        rp,
        acr_values="urn:cn:gov:idp:loa:3",
        code_challenge=pkce()[1],
        code_challenge_method="S256",
    )
    assert query_of(response.headers["Location"])["error"] == "unmet_authentication_requirements"


def test_a_loa5_person_signing_in_by_password_gets_loa3(app, browser, register, person):
    rp = register()
    make_real_named(app, person["id"])
    with app.app_context():
        db.session.get(Person, person["id"]).loa = 5
        db.session.commit()
    code, verifier = browser.code_for(rp)
    claims = verify(app, redeem(app.test_client(), rp, code, verifier).json["id_token"])
    assert claims["acr"] == "urn:cn:gov:idp:loa:3"  # capped by how the session signed in


def test_idcard_scope_only_for_allowed_clients(app, browser, register, person):
    make_real_named(app, person["id"])
    allowed = register(scopes=["openid", "idcard"])
    code, verifier = browser.code_for(allowed, scope="openid idcard")
    tokens = redeem(app.test_client(), allowed, code, verifier).json
    info = app.test_client().get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.json["id_number"] == SYNTHETIC.id_number and info.json["id_type"] == "resident"

    other = register(scopes=["openid", "profile"])
    response = browser.authorize(
        other, scope="openid idcard", code_challenge=pkce()[1], code_challenge_method="S256"
    )
    assert query_of(response.headers["Location"])["error"] == "invalid_scope"


def test_claims_parameter_cannot_pull_the_id_number(app, browser, register, person):
    import json

    make_real_named(app, person["id"])
    rp = register(scopes=["openid", "profile"])
    code, verifier = browser.code_for(
        rp, claims=json.dumps({"userinfo": {"id_number": None}, "id_token": {"id_number": None}})
    )
    tokens = redeem(app.test_client(), rp, code, verifier).json
    info = app.test_client().get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert "id_number" not in info.json
    assert "id_number" not in verify(app, tokens["id_token"])
