"""Independent relying-party libraries, used unchanged, drive the provider over real HTTP:
npm openid-client 6.x (the RP web server in rp_node/rp.mjs) and Authlib's OAuth 2.0 client.

Each journey: discovery, code + PKCE, ID token validation, userinfo, refresh (rotation),
introspection, revocation (the refresh token's whole family), RP-initiated logout, and
then prompt=none to show that the provider's session is gone.

The provider runs as `idp serve` with its own instance directory; the test only plays the
person's browser (requests, redirects followed one by one, forms posted by their names).
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

from examples.verify_sm2_id_token import verify_id_token
from idp.keys.gm_jose import import_sm2_key
from idp.keys.gm_jose import registry as gm_registry
from tests.e2e.rp_deployment import (
    PASSWORD,
    PHONE,
    SCOPES,
    USERNAME,
    Deployment,
    running_deployment,
)

pytestmark = pytest.mark.slow

LOA2 = "urn:cn:gov:idp:loa:2"
TIMEOUT = 10  # seconds, for every HTTP request the browser makes


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    with running_deployment() as deployed:
        yield deployed


# -- the person's browser -----------------------------------------------------------------
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S)
ACTION = re.compile(r'<form\b[^>]*\baction="([^"]*)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@dataclass
class Browser:
    """Follows redirects one at a time, signs in and allows consent, as a person would."""

    http: requests.Session = field(default_factory=requests.Session)
    pages: list[str] = field(default_factory=list)  # forms filled in: "login", "consent"

    def visit(self, url: str, stop_at: str | None = None) -> tuple[str, requests.Response | None]:
        """Go to `url` and on until a page that is not a step of sign-in or consent.
        Returns where the browser ended up; with `stop_at`, stops (without requesting it)
        at the first URL that starts with it, as a redirect to an RP that is not running."""
        method, data = "GET", None
        for _ in range(15):
            if stop_at and url.startswith(stop_at):
                return url, None
            response = self.http.request(
                method, url, data=data, allow_redirects=False, timeout=TIMEOUT
            )
            method, data = "GET", None
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                continue
            form = _form(response, 'name="password"') or _form(response, 'value="allow"')
            if response.status_code != 200 or form is None:
                return url, response
            fields = {k: html.unescape(v) for k, v in HIDDEN.findall(form)}
            if 'name="password"' in form:
                self.pages.append("login")
                fields.update(username=USERNAME, password=PASSWORD)
            else:
                self.pages.append("consent")
                fields["decision"] = "allow"
            action = ACTION.search(form)
            assert action, form
            method, data, url = "POST", fields, urljoin(url, html.unescape(action.group(1)))
        raise AssertionError(f"the browser went round in circles, last at {url}")


def _form(response: requests.Response, marker: str) -> str | None:
    if "html" not in response.headers.get("Content-Type", ""):
        return None
    return next((f for f in FORM.findall(response.text) if marker in f), None)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# -- openid-client -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "alg"), [("confidential", "RS256"), ("es256", "ES256"), ("public", "RS256")]
)
def test_openid_client_journey(deployment: Deployment, name: str, alg: str) -> None:
    client_id = deployment.clients[name]["client_id"]
    browser = Browser()
    started = int(time.time())

    _, response = browser.visit(f"{deployment.rp_url}/login?client={name}")
    assert response is not None
    report = response.json()
    assert report["ok"], report
    assert browser.pages == ["login", "consent"]

    # The ID token, as openid-client checked it (signature, iss, aud, exp, nonce, state, iss
    # in the authorization response) and as the provider promises.
    claims = report["id_token_claims"]
    assert report["id_token_alg"] == alg
    assert claims["iss"] == deployment.issuer
    assert claims["aud"] == client_id
    assert claims["sub"] and claims["sid"]
    assert claims["acr"] == LOA2
    assert claims["amr"] == ["pwd"]
    assert started - 5 <= claims["auth_time"] <= int(time.time()) + 5

    userinfo = report["userinfo"]
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["phone_number"] == f"+86{PHONE}"
    assert userinfo["preferred_username"] == USERNAME

    # Refresh: every use gives a new access token and a new refresh token (rotation).
    first, second, third = report["tokens"], report["refreshed"], report["refreshed_again"]
    assert len({first["access_token"], second["access_token"], third["access_token"]}) == 3
    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
    for refreshed in (second, third):
        again = refreshed["id_token_claims"]
        assert again is not None, "no ID token on refresh"
        assert (again["sub"], again["aud"], again["auth_time"]) == (
            claims["sub"],
            client_id,
            claims["auth_time"],
        )

    introspection = report["introspection"]
    active = introspection["by_resource_server"]  # registered with --resource-server
    assert active["active"] is True
    assert (active["client_id"], active["sub"]) == (client_id, claims["sub"])
    assert active["aud"] == [client_id, deployment.clients["resource_server"]["client_id"]]
    assert set(active["scope"].split()) == set(SCOPES)
    assert introspection["refresh_token_by_resource_server"] == {"active": False}
    if name != "public":  # public clients: see test_discovery_matches_introspection_auth
        assert introspection["by_client"] == {"ok": True, "value": active}
        assert introspection["refresh_token"]["value"]["active"] is True

    # Revoking the refresh token ends its family: the access token from it dies too.
    after = report["after_revocation"]
    assert after["access_token"] == {"active": False}
    if name != "public":
        assert after["refresh_token"] == {"ok": True, "value": {"active": False}}
    assert after["userinfo"]["ok"] is False
    assert after["userinfo"]["error"]["status"] == 401
    assert after["refresh"]["error"]["error"] == "invalid_grant"
    assert after["rotated_out_refresh"]["error"]["error"] == "invalid_grant"

    # RP-initiated logout with id_token_hint: no confirmation page, back at /bye with state.
    url, response = browser.visit(report["end_session_url"])
    assert urlsplit(url).path == "/bye"
    assert response is not None
    assert response.json() == {"path": "/bye", "state": report["logout_state"]}

    # The provider's session is gone: prompt=none must come back with login_required (as
    # openid-client reads the error response, iss included).
    _, response = browser.visit(f"{deployment.rp_url}/login?client={name}&prompt=none")
    assert response is not None
    silent = response.json()
    assert silent["ok"] is False
    assert silent["error"]["error"] == "login_required", silent

    if name == "public":  # no PKCE, no code: for every client, and public ones above all
        _, response = browser.visit(f"{deployment.rp_url}/login?client={name}&pkce=0")
        assert response is not None
        refused = response.json()
        assert refused["ok"] is False
        assert refused["error"]["error"] == "invalid_request", refused


def test_discovery_matches_introspection_auth(deployment: Deployment) -> None:
    """What the public openid-client RP did above (introspect its own token, no secret) is
    either advertised in discovery or refused (RFC 8414 section 2, RFC 7662 section 2.1)."""
    metadata = requests.get(
        f"{deployment.issuer}/.well-known/openid-configuration", timeout=TIMEOUT
    ).json()
    answer = requests.post(
        metadata["introspection_endpoint"],
        data={"token": "not-a-token", "client_id": deployment.clients["public"]["client_id"]},
        timeout=TIMEOUT,
    )
    accepted = answer.status_code == 200
    assert accepted == ("none" in metadata["introspection_endpoint_auth_methods_supported"])


# -- Authlib's client ----------------------------------------------------------------------
def _verified_sm2sm3(
    raw: str, jwks: dict[str, Any], *, issuer: str, client_id: str, access_token: str
) -> Any:
    """An SM2SM3 token checked twice: by the RP example (gmssl alone, from the JWKS, at_hash
    with SM3, which Authlib does not know) and by our own verifier (joserfc with
    idp.keys.gm_jose); both must agree."""
    by_gmssl = verify_id_token(
        raw, jwks, issuer=issuer, client_id=client_id, access_token=access_token
    )
    kid = json.loads(base64.urlsafe_b64decode(raw.split(".")[0] + "==="))["kid"]
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
    ours = jwt.decode(raw, import_sm2_key(jwk), registry=gm_registry(("SM2SM3",)))
    assert ours.header["alg"] == "SM2SM3" and ours.claims == by_gmssl
    return ours


def _validated_id_token(
    raw: str, jwks: dict[str, Any], *, issuer: str, client_id: str, **params: str
) -> CodeIDToken:
    if json.loads(base64.urlsafe_b64decode(raw.split(".")[0] + "==="))["alg"] == "SM2SM3":
        access_token = params.pop("access_token")
        token = _verified_sm2sm3(
            raw, jwks, issuer=issuer, client_id=client_id, access_token=access_token
        )
        assert (
            json.loads(base64.urlsafe_b64decode(access_token.split(".")[0] + "==="))["alg"]
            == "SM2SM3"
        )
    else:
        # RFC 7517 section 5: an RP ignores keys it does not understand (here the SM2
        # keys); joserfc 1.8's import_key_set raises on crv SM2 instead, so we filter.
        known = [k for k in jwks["keys"] if k.get("crv") != "SM2"]
        keys = KeySet.import_key_set({"keys": known})
        token = jwt.decode(raw, keys, algorithms=["RS256", "ES256"])
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "exp": {"essential": True},
    }
    if "nonce" in params:
        options["nonce"] = {"essential": True, "value": params["nonce"]}
    claims = CodeIDToken(
        token.claims, token.header, options, params={"client_id": client_id, **params}
    )
    claims.validate()
    return claims


@pytest.mark.parametrize("name", ["authlib", "authlib_sm2"])
def test_authlib_client_journey(deployment: Deployment, name: str) -> None:
    registered = deployment.clients[name]
    client_id, redirect_uri = registered["client_id"], registered["redirect_uris"][0]
    bye = registered["post_logout_redirect_uris"][0]
    metadata = requests.get(
        f"{deployment.issuer}/.well-known/openid-configuration", timeout=TIMEOUT
    ).json()
    assert metadata["issuer"] == deployment.issuer
    jwks = requests.get(metadata["jwks_uri"], timeout=TIMEOUT).json()
    browser = Browser()
    session = OAuth2Session(
        client_id,
        registered["client_secret"],
        scope=" ".join(SCOPES),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )

    verifier, nonce = generate_token(64), generate_token(24)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], nonce=nonce, code_verifier=verifier
    )
    callback, _ = browser.visit(url, stop_at=redirect_uri)
    answer = query_of(callback)
    assert (answer["state"], answer["iss"]) == (state, deployment.issuer)  # RFC 9207

    token = session.fetch_token(
        metadata["token_endpoint"],
        authorization_response=callback,
        state=state,
        code_verifier=verifier,
    )
    claims = _validated_id_token(
        token["id_token"],
        jwks,
        issuer=deployment.issuer,
        client_id=client_id,
        nonce=nonce,
        access_token=token["access_token"],
    )
    assert (claims["acr"], claims["amr"]) == (LOA2, ["pwd"])
    assert claims["sid"] and isinstance(claims["auth_time"], int)

    userinfo = session.get(metadata["userinfo_endpoint"], timeout=TIMEOUT)
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["sub"] == claims["sub"]
    assert userinfo.json()["phone_number"] == f"+86{PHONE}"

    refreshed = session.refresh_token(metadata["token_endpoint"])
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]
    again = _validated_id_token(
        refreshed["id_token"],
        jwks,
        issuer=deployment.issuer,
        client_id=client_id,
        access_token=refreshed["access_token"],
    )
    assert again["sub"] == claims["sub"]

    endpoint = metadata["introspection_endpoint"]
    active = session.introspect_token(
        endpoint, token=refreshed["access_token"], token_type_hint="access_token"
    )
    assert active.status_code == 200, active.text
    assert active.json()["active"] is True
    assert active.json()["sub"] == claims["sub"]

    revoked = session.revoke_token(
        metadata["revocation_endpoint"],
        token=refreshed["refresh_token"],
        token_type_hint="refresh_token",
    )
    assert revoked.status_code == 200, revoked.text
    gone = session.introspect_token(endpoint, token=refreshed["access_token"])
    assert gone.json() == {"active": False}
    assert session.get(metadata["userinfo_endpoint"], timeout=TIMEOUT).status_code == 401

    logout_state = generate_token(16)
    end_session = add_params_to_uri(
        metadata["end_session_endpoint"],
        {
            "id_token_hint": refreshed["id_token"],
            "post_logout_redirect_uri": bye,
            "state": logout_state,
        },
    )
    landed, _ = browser.visit(end_session, stop_at=bye)
    assert landed == f"{bye}?state={logout_state}"

    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"],
        nonce=generate_token(24),
        code_verifier=generate_token(64),
        prompt="none",
    )
    callback, _ = browser.visit(url, stop_at=redirect_uri)
    answer = query_of(callback)
    assert answer["error"] == "login_required", answer
    assert (answer["state"], answer["iss"]) == (state, deployment.issuer)
