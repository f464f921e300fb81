"""Every client authentication method at every endpoint of the pipeline: a client is known
by the method it registered (client_secret_basic, client_secret_post, private_key_jwt,
none) and by no other, and a client assertion works once."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.integration.oidc.conftest import redeem
from tests.integration.oidc.machine.conftest import (
    NOT_ACTIVE,
    ask,
    assert_always,
    audit_rows,
    basic,
)

ENDPOINTS = {
    "/token": {"grant_type": "client_credentials"},
    "/introspect": {"token": "x"},
    "/revoke": {"token": "x"},
}
NOT_UTF8 = "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()


def succeeded(path: str, response: Any) -> None:
    assert response.status_code == 200, (path, response.json)
    expected = {"/introspect": NOT_ACTIVE, "/revoke": {}}.get(path)
    if expected is None:
        assert "access_token" in response.json
    else:
        assert response.json == expected
    assert_always(response.headers)


# -- private_key_jwt: how kiosks authenticate ---------------------------------------------
@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_a_kiosk_authenticates_with_an_assertion_once(app, kiosk, path):
    client = app.test_client()
    assertion = kiosk.assertion()
    succeeded(path, client.post(path, data={**ENDPOINTS[path], **assertion}))
    replay = client.post(path, data={**ENDPOINTS[path], **assertion})
    assert replay.status_code == 400
    assert replay.json == {"error": "invalid_client", "error_description": "JWT ID is used before."}


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_an_assertion_names_the_issuer_or_the_token_endpoint_only(app, kiosk, path):
    client = app.test_client()
    succeeded(path, client.post(path, data={**ENDPOINTS[path], **kiosk.assertion(kiosk.issuer)}))
    for audience in (f"{kiosk.issuer}/introspect", "https://other.example/token"):
        answer = client.post(path, data={**ENDPOINTS[path], **kiosk.assertion(audience)})
        assert answer.status_code == 400 and answer.json["error"] == "invalid_client"


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_a_kiosk_is_refused_without_its_assertion(app, kiosk, path):
    client = app.test_client()
    form = {**ENDPOINTS[path], "client_id": kiosk.client.client_id}
    assert client.post(path, data=form).status_code == 401
    forged = {**kiosk.assertion(), "client_assertion": kiosk.assertion()["client_assertion"][:-4]}
    answer = client.post(path, data={**ENDPOINTS[path], **forged})
    assert answer.status_code == 400 and answer.json["error"] == "invalid_client"
    expired = kiosk.assertion(exp=1)
    assert client.post(path, data={**ENDPOINTS[path], **expired}).status_code == 400


def test_a_kiosks_token_is_introspected_and_revoked_by_the_kiosk(app, kiosk):
    client = app.test_client()
    issued = client.post("/token", data={"grant_type": "client_credentials", **kiosk.assertion()})
    token = issued.json["access_token"]
    form = {"token": token, **kiosk.assertion()}
    assert client.post("/introspect", data=form).json["active"] is True
    revoked = client.post(
        "/revoke",
        data={"token": token, **kiosk.assertion()},
        headers={"User-Agent": "kiosk-agent/2.1"},
        environ_base={"REMOTE_ADDR": "198.51.100.20"},
    )
    assert revoked.status_code == 200 and revoked.json == {}
    assert client.post("/introspect", data={"token": token, **kiosk.assertion()}).json == NOT_ACTIVE
    [row] = audit_rows(app, "client:access_token:revoked")
    assert row.actor == f"client:{kiosk.client.client_id}"
    assert row.ip == "198.51.100.20" and row.user_agent == "kiosk-agent/2.1"


# -- client_secret_basic and client_secret_post -------------------------------------------
@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_a_secret_goes_where_the_client_registered_it(app, register, path):
    post = register(
        grant_types=["client_credentials"],
        redirect_uris=[],
        scopes=["api"],
        token_endpoint_auth_method="client_secret_post",
    )
    basic_client = register(grant_types=["client_credentials"], redirect_uris=[], scopes=["api"])
    client = app.test_client()
    in_form = {"client_id": post.client_id, "client_secret": str(post.secret)}
    succeeded(path, client.post(path, data={**ENDPOINTS[path], **in_form}))
    succeeded(path, client.post(path, headers=basic_client.basic, data=ENDPOINTS[path]))
    wrong = client.post(path, data={**ENDPOINTS[path], **in_form, "client_secret": "wrong"})
    assert wrong.status_code == 401 and wrong.json["error"] == "invalid_client"
    in_header = client.post(path, headers=post.basic, data=ENDPOINTS[path])
    assert in_header.status_code == 401
    other_form = {"client_id": basic_client.client_id, "client_secret": str(basic_client.secret)}
    assert client.post(path, data={**ENDPOINTS[path], **other_form}).status_code == 401


@pytest.mark.parametrize(
    "headers, form, status, description",
    [
        ({}, {}, 401, "The client cannot authenticate with methods"),
        ("wrong-secret", {}, 401, "The client cannot authenticate with methods"),
        ("unknown-client", {}, 401, "The client does not exist on this server."),
        ({"Authorization": "Basic " + base64.b64encode(b"only-an-id").decode()}, {}, 401, None),
        ({"Authorization": "Bearer abc"}, {}, 401, None),
        ({"Authorization": "Basic %%%"}, {}, 401, None),
        ({"Authorization": NOT_UTF8}, {}, 401, "The client cannot authenticate with methods"),
        ({"Authorization": "Basic \u00e9t\u00e9"}, {}, 401, "cannot authenticate with methods"),
        ({}, {"client_id": "no-such", "client_secret": "x"}, 400, "does not exist"),
        ({}, {"client_id": "no-such"}, 400, "does not exist"),
    ],
)
def test_failed_client_authentication_at_introspection(
    app, rp, tokens, headers, form, status, description
):
    if headers == "wrong-secret":
        headers = basic(rp.client_id, "wrong-secret")
    elif headers == "unknown-client":
        headers = basic("no-such-client", "whatever")
    answer = app.test_client().post(
        "/introspect", headers=headers, data={"token": tokens["access_token"], **form}
    )
    assert answer.status_code == status and answer.json["error"] == "invalid_client"
    assert description is None or description in answer.json["error_description"]
    assert ("WWW-Authenticate" in answer.headers) == (status == 401)
    assert_always(answer.headers)


# -- none: public clients ------------------------------------------------------------------
def test_a_public_client_learns_about_and_revokes_its_own_tokens_only(
    app, register, browser, rp, tokens
):
    public = register(token_endpoint_auth_method="none")
    code, verifier = browser.code_for(public)
    own = redeem(app.test_client(), public, code, verifier).json["access_token"]
    client = app.test_client()
    as_public = {"client_id": public.client_id}
    assert client.post("/introspect", data={"token": own, **as_public}).json["active"] is True
    theirs = client.post("/introspect", data={"token": tokens["access_token"], **as_public})
    assert theirs.json == NOT_ACTIVE
    with_secret = client.post("/introspect", data={"token": own, **as_public, "client_secret": "x"})
    assert with_secret.status_code == 401
    client.post("/revoke", data={"token": tokens["access_token"], **as_public})
    assert client.post("/introspect", **ask(rp, tokens["access_token"])).json["active"] is True
    assert client.post("/revoke", data={"token": own, **as_public}).status_code == 200
    assert client.post("/introspect", data={"token": own, **as_public}).json == NOT_ACTIVE
    cc = client.post("/token", data={"grant_type": "client_credentials", **as_public})
    assert cc.status_code == 401 and cc.json["error"] == "invalid_client"
