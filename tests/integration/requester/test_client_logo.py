"""The service that is asking, as the person sees it: its registered name (and logo) on
the sign-in page, the organisation chosen on the consent page; logos served from our
own origin with safe headers; a refused logo changes nothing."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from admin import services
from admin.services.clients import ClientAdmin
from admin.services.errors import InvalidInputError, NotFoundError
from idp.audit.models import AuditEvent
from idp.db import db
from idp.oidc.logos import MAX_BYTES
from idp.oidc.models import Client
from tests.helpers import csrf_token
from tests.integration.oidc.conftest import Browser, form_of
from tests.integration.oidc.test_act_for import ENTERPRISE, enterprise_with_agent
from tests.integration.requester import images

GJJ = "某市住房公积金管理中心"


def admin(app) -> ClientAdmin:
    return services.clients()


def stored_logo(app, client_id: str) -> bytes | None:
    with app.app_context():
        return db.session.scalar(select(Client.logo).where(Client.client_id == client_id))


def audit_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def sign_in_page(client, rp) -> str:
    """The sign-in page a person reaches from the service's request."""
    response = client.get(
        "/authorize",
        query_string={
            "response_type": "code",
            "client_id": rp.client_id,
            "redirect_uri": rp.redirect_uri,
            "scope": "openid",
            "state": "st",
        },
    )
    assert response.status_code in (302, 303), response.status_code
    return html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))


def logo_src(page: str) -> str | None:
    if 'class="requester-logo"' not in page:
        return None
    return page.split('class="requester-logo" src="')[1].split('"')[0]


def test_the_sign_in_page_names_the_service_and_shows_its_logo(app, client, register):
    rp = register(name=GJJ)
    with app.app_context():
        admin(app).set_logo(actor="admin:test", client_id=rp.client_id, logo=images.png())
    page = sign_in_page(client, rp)
    assert f"登录后将前往：{GJJ}" in page
    src = logo_src(page)
    assert src is not None and src.startswith(f"/clients/{rp.client_id}/logo?v=")
    assert client.get(src).data == images.png()


def test_without_a_logo_the_name_alone(app, client, register):
    rp = register(name=GJJ)
    page = sign_in_page(client, rp)
    assert f"登录后将前往：{GJJ}" in page
    assert logo_src(page) is None
    assert client.get(f"/clients/{rp.client_id}/logo").status_code == 404


def test_the_account_centres_own_sign_in_names_no_service(client):
    response = client.get("/account")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="requester"' not in page


@pytest.mark.parametrize("kind, logo", [("png", images.png()), ("jpeg", images.jpeg())])
def test_the_served_logo_has_safe_headers_and_is_cached(app, client, register, kind, logo):
    rp = register()
    with app.app_context():
        admin(app).set_logo(actor="admin:test", client_id=rp.client_id, logo=logo)
    response = client.get(f"/clients/{rp.client_id}/logo")
    assert response.status_code == 200 and response.data == logo
    assert response.headers["Content-Type"] == f"image/{kind}"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "public" in response.headers["Cache-Control"]
    assert "no-store" not in response.headers["Cache-Control"]
    etag = response.headers["ETag"]
    again = client.get(f"/clients/{rp.client_id}/logo", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


REFUSED = {
    "too large": images.png(pad=MAX_BYTES),
    "too many pixels": images.png(1024, 1024),
    "not an image": b"just some text, not a picture",
    "SVG": images.SVG,
    "a PNG with a lying header": images.lying_png(),
    "a PNG with a page after it": images.png_then_html(),
}


@pytest.mark.parametrize("name", REFUSED)
def test_a_refused_logo_changes_nothing(app, client, register, name):
    rp = register()
    with app.app_context():
        admin(app).set_logo(actor="admin:test", client_id=rp.client_id, logo=images.png())
    before = audit_rows(app)
    with app.app_context(), pytest.raises(InvalidInputError) as refused:
        admin(app).set_logo(actor="admin:test", client_id=rp.client_id, logo=REFUSED[name])
    assert refused.value.field == "logo"
    assert stored_logo(app, rp.client_id) == images.png()
    assert audit_rows(app) == before
    assert client.get(f"/clients/{rp.client_id}/logo").data == images.png()


def test_a_refused_logo_registers_no_client(app):
    with app.app_context(), pytest.raises(InvalidInputError):
        admin(app).register(
            actor="admin:test",
            name="带SVG标志的服务",
            redirect_uris=["https://rp.example.test/cb"],
            logo=images.SVG,
        )
    with app.app_context():
        assert db.session.scalar(select(Client).where(Client.name == "带SVG标志的服务")) is None


def test_a_logo_for_an_unknown_client_is_refused(app):
    with app.app_context(), pytest.raises(NotFoundError):
        admin(app).set_logo(actor="admin:test", client_id="no-such-client", logo=images.png())


def test_removing_the_logo(app, client, register):
    rp = register()
    with app.app_context():
        admin(app).set_logo(actor="admin:test", client_id=rp.client_id, logo=images.png())
        admin(app).set_logo(actor="admin:test", client_id=rp.client_id, logo=None)
    assert stored_logo(app, rp.client_id) is None
    assert client.get(f"/clients/{rp.client_id}/logo").status_code == 404


def consent_page(browser: Browser, rp, org_id: str) -> str:
    """Sign in, choose to act for `org_id`, and stop at the consent page."""
    response = browser.open_authorize(rp, scope="openid org", state="st")
    for _ in range(6):
        location = response.headers.get("Location", "")
        if location.startswith("/login"):
            txn = parse_qs(urlsplit(location).query)["txn"][0]
            token = csrf_token(browser.client, location)
            person = browser.person
            response = browser.client.post(
                "/login",
                data={
                    "username": person["username"],
                    "password": person["password"],
                    "csrf_token": token,
                    "txn": txn,
                },
            )
        elif location.startswith("/"):
            response = browser.client.get(location)
        elif b'name="act_for"' in response.data:
            action, token = form_of(response.get_data(as_text=True))
            response = browser.client.post(
                action, data={"csrf_token": token, "act_for": org_id, "decision": "continue"}
            )
        elif b'value="allow"' in response.data:
            return html.unescape(response.get_data(as_text=True))
        else:
            raise AssertionError(response.get_data(as_text=True)[:500])
    raise AssertionError("no consent page")


def test_the_consent_page_says_which_organisation_was_chosen(app, register):
    _rep, agent, org_id, _grant = enterprise_with_agent(app)
    rp = register(name=GJJ, scopes=["openid", "org"])
    page = consent_page(Browser(app.test_client(), agent), rp, org_id)
    assert f"办事身份：{ENTERPRISE.name}" in page
    assert f"申请服务：{GJJ}" in page
