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
import fcntl
import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from gmssl import func, sm3
from joserfc import jwt
from joserfc.jwk import KeySet

from examples.verify_sm2_id_token import verify_id_token
from idp.keys.gm_jose import import_sm2_key
from idp.keys.gm_jose import registry as gm_registry
from tests.e2e.conftest import IDP, REPO, _environment, _idp, _stop, _wait_healthy
from tests.servers import free_port, wait_for_port

pytestmark = pytest.mark.slow

RP_NODE = Path(__file__).parent / "rp_node"
USERNAME = "e2e"
PHONE = "17000000301"
PASSWORD = "amber-kettle-harbour-2026"
SCOPES = ("openid", "profile", "phone", "offline_access")
LOA2 = "urn:cn:gov:idp:loa:2"
TIMEOUT = 10  # seconds, for every HTTP request the browser makes
OPENID_CLIENT_RPS = ("confidential", "es256", "public")  # the clients rp.mjs signs in with


# -- the deployment: provider, registered clients, the openid-client RP ------------------
@dataclass(frozen=True)
class Deployment:
    issuer: str
    rp_url: str  # the openid-client RP's web server
    clients: dict[str, dict[str, Any]]  # name -> `idp client create --json` output


def _install_openid_client(npm: str) -> None:
    """`npm ci` once per checkout, whichever xdist worker gets here first."""
    wanted = json.loads((RP_NODE / "package.json").read_text())["dependencies"]["openid-client"]
    installed = RP_NODE / "node_modules" / "openid-client" / "package.json"
    key = hashlib.sha256(str(RP_NODE).encode()).hexdigest()[:12]
    with (Path(tempfile.gettempdir()) / f"idp-rp-node-{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed.exists() and json.loads(installed.read_text())["version"] == wanted:
            return
        verb = "ci" if (RP_NODE / "package-lock.json").exists() else "install"
        done = subprocess.run(
            [npm, verb, "--no-audit", "--no-fund"],
            cwd=RP_NODE,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"npm {verb} failed:\n{done.stdout}{done.stderr}"


def _register(env: dict[str, str], name: str, *options: str) -> dict[str, Any]:
    scopes = [arg for scope in SCOPES for arg in ("--scope", scope)]
    out = _idp(env, "client", "create", "--name", name, *scopes, *options, "--json")
    return dict(json.loads(out))


def _register_clients(env: dict[str, str], rp_url: str) -> dict[str, dict[str, Any]]:
    def code_flow(path: str) -> tuple[str, ...]:
        return (
            *("--grant-type", "authorization_code", "--grant-type", "refresh_token"),
            *("--redirect-uri", f"{rp_url}{path}/cb"),
            *("--post-logout-redirect-uri", f"{rp_url}{path}/bye"),
        )

    return {
        "confidential": _register(env, "openid-client RS256", *code_flow("")),
        "es256": _register(
            env, "openid-client ES256", *code_flow(""), "--id-token-signed-response-alg", "ES256"
        ),
        "public": _register(
            env, "openid-client public", *code_flow(""), "--token-endpoint-auth-method", "none"
        ),
        "authlib": _register(env, "Authlib client", *code_flow("/authlib")),
        # 国密: SM2SM3 ID and access tokens (keys for it are made by `client create`)
        "authlib_sm2": _register(
            env,
            "Authlib client SM2SM3",
            *code_flow("/authlib-sm2"),
            *("--id-token-signed-response-alg", "SM2SM3"),
            *("--access-token-signed-alg", "SM2SM3"),
        ),
        "resource_server": _register(env, "resource server", "--grant-type", "client_credentials"),
    }


def _start_rp(
    node: str, issuer: str, port: int, clients: dict[str, dict[str, Any]], log: Path
) -> subprocess.Popen[bytes]:
    """rp.mjs: the openid-client RP's web server (see its header for what it answers)."""
    config = {
        "issuer": issuer,
        "port": port,
        "clients": {
            name: {
                "client_id": clients[name]["client_id"],
                "client_secret": clients[name].get("client_secret"),
                "id_token_signed_response_alg": clients[name]["id_token_signed_response_alg"],
            }
            for name in OPENID_CLIENT_RPS
        },
        "resource_server": {
            "client_id": clients["resource_server"]["client_id"],
            "client_secret": clients["resource_server"]["client_secret"],
        },
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [node, "rp.mjs"],
            env={**os.environ, "RP_CONFIG": json.dumps(config)},
            cwd=RP_NODE,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop_rp(proc: subprocess.Popen[bytes], log: Path) -> list[str]:
    if proc.poll() is not None:
        return [f"rp.mjs exited early with {proc.returncode}:\n{log.read_text(errors='replace')}"]
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    return []


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed (apt-get install nodejs npm)")
    _install_openid_client(npm)

    tmp = Path(tempfile.mkdtemp(prefix="idp-"))  # short: the embedded Redis has a unix socket
    port, rp_port = free_port(), free_port()
    env = _environment(tmp, port)
    issuer, rp_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{rp_port}"
    serve_log, rp_log = tmp / "serve.log", tmp / "rp.log"
    serve: subprocess.Popen[bytes] | None = None
    rp: subprocess.Popen[bytes] | None = None
    problems: list[str] = []
    try:
        _idp(env, "db", "upgrade")
        person = ("--username", USERNAME, "--phone", PHONE, "--password", PASSWORD)
        assert json.loads(_idp(env, "person", "create", *person, "--json"))["ok"]
        with serve_log.open("wb") as log:
            serve = subprocess.Popen(
                [str(IDP), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                env=env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        clients = _register_clients(env, rp_url)  # while the server starts
        rp = _start_rp(node, issuer, rp_port, clients, rp_log)
        try:
            wait_for_port(port, timeout=30, proc=serve)
            _wait_healthy(issuer, serve)
            wait_for_port(rp_port, timeout=15, proc=rp)
        except (RuntimeError, TimeoutError) as exc:
            logs = serve_log.read_text(errors="replace") + rp_log.read_text(errors="replace")
            raise RuntimeError(f"{exc}\n{logs}") from None
        yield Deployment(issuer=issuer, rp_url=rp_url, clients=clients)
    finally:
        if rp is not None:
            problems += _stop_rp(rp, rp_log)
        if serve is not None:
            problems += _stop(serve, tmp / "instance")
        output = serve_log.read_text(errors="replace") if serve_log.exists() else ""
        shutil.rmtree(tmp, ignore_errors=True)
    assert not problems, "; ".join(problems) + f"\n{output}"


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
    active = introspection["by_resource_server"]
    assert active["active"] is True
    assert (active["client_id"], active["sub"]) == (client_id, claims["sub"])
    assert set(active["scope"].split()) == set(SCOPES)
    if name != "public":  # public clients: see test_discovery_matches_introspection_auth
        assert introspection["by_client"] == {"ok": True, "value": active}
    assert introspection["refresh_token"]["active"] is True

    # Revoking the refresh token ends its family: the access token from it dies too.
    after = report["after_revocation"]
    assert after["access_token"] == {"active": False}
    assert after["refresh_token"] == {"active": False}
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
def _verified_sm2sm3(raw: str, jwks: dict[str, Any], *, issuer: str, client_id: str) -> Any:
    """An SM2SM3 token checked twice: by the RP example (gmssl alone, from the JWKS) and by
    our own verifier (joserfc with idp.keys.gm_jose); both must agree."""
    by_gmssl = verify_id_token(raw, jwks, issuer=issuer, client_id=client_id)
    kid = json.loads(base64.urlsafe_b64decode(raw.split(".")[0] + "==="))["kid"]
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
    ours = jwt.decode(raw, import_sm2_key(jwk), registry=gm_registry(("SM2SM3",)))
    assert ours.header["alg"] == "SM2SM3" and ours.claims == by_gmssl
    return ours


def _validated_id_token(
    raw: str, jwks: dict[str, Any], *, issuer: str, client_id: str, **params: str
) -> CodeIDToken:
    if json.loads(base64.urlsafe_b64decode(raw.split(".")[0] + "==="))["alg"] == "SM2SM3":
        token = _verified_sm2sm3(raw, jwks, issuer=issuer, client_id=client_id)
        # Authlib knows no SM3: at_hash is the left half of SM3(access token), gmssl's here
        access_token = params.pop("access_token")
        digest = bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(access_token.encode())))
        assert token.claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
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
