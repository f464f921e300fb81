"""The hotline end to end: an agent desk built on npm openid-client, used unchanged
(rp_node/ciba.mjs: `initiateBackchannelAuthentication` and
`pollBackchannelAuthenticationGrant`), asks `idp serve` to authenticate a caller by phone
number; the caller's app (`idp-app`, the reference app, a separate program) shows the
request with its binding message and approves or denies it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from idp.oidc.features import CIBA_GRANT
from tests.e2e.conftest import Provider, _idp
from tests.e2e.rp_deployment import RP_NODE, _install_openid_client

pytestmark = pytest.mark.slow

IDP_APP = Path(sys.executable).parent / "idp-app"  # the console script of this virtualenv
LOA2 = "urn:cn:gov:idp:loa:2"


@pytest.fixture(scope="module")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed (apt-get install nodejs npm)")
    _install_openid_client(npm)
    return node


@pytest.fixture(scope="module")
def desk(provider: Provider) -> dict[str, Any]:
    """The hotline's agent desk, registered as an administrator registers it."""
    out = _idp(
        provider.env,
        *("client", "create", "--name", "12345 热线坐席", "--json"),
        *("--grant-type", CIBA_GRANT, "--backchannel-token-delivery-mode", "poll"),
        *("--channel", "hotline", "--scope", "openid", "--scope", "profile"),
    )
    return dict(json.loads(out))


@pytest.fixture(scope="module")
def phone_app(provider: Provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The caller's app, enrolled by signing in as the person does."""
    state = tmp_path_factory.mktemp("idp-app") / "state.json"
    idp_app(
        state,
        *("enrol", "--issuer", provider.url),
        *("--username", provider.username, "--password", provider.password),
    )
    yield state


def idp_app(state: Path, *args: str) -> Any:
    done = subprocess.run(
        [str(IDP_APP), "--state", str(state), *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"idp-app {' '.join(args)}: {done.stdout}{done.stderr}"
    return json.loads(done.stdout) if done.stdout.strip() else None


def run_desk(
    node: str, provider: Provider, desk: dict[str, Any], parameters: dict[str, str]
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Start ciba.mjs; return it and the provider's answer to its request."""
    config = {
        "issuer": provider.url,
        "client_id": desk["client_id"],
        "client_secret": desk["client_secret"],
        "parameters": parameters,
    }
    proc = subprocess.Popen(
        [node, "ciba.mjs"],
        env={**os.environ, "CIBA_CONFIG": json.dumps(config)},
        cwd=RP_NODE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline() or "{}")
    assert "started" in first, f"{first} {proc.stderr.read() if proc.stderr else ''}"
    return proc, first["started"]


def finished(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=60)
    lines = out.strip().splitlines()
    assert lines, err
    return dict(json.loads(lines[-1]))


def shown(state: Path, binding_message: str) -> dict[str, Any]:
    """The request as the app shows it (it appears within a second or two)."""
    deadline = time.monotonic() + 5
    while True:
        found = [a for a in idp_app(state, "pending", "--json") if a["kind"] == "ciba"]
        found = [a for a in found if a["binding_message"] == binding_message]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, found
            return found[0]
        time.sleep(0.2)


def test_the_desk_gets_tokens_once_the_caller_approves_in_the_app(
    node: str, provider: Provider, desk: dict[str, Any], phone_app: Path
) -> None:
    discovery = requests.get(f"{provider.url}/.well-known/openid-configuration", timeout=10)
    assert "poll" in discovery.json()["backchannel_token_delivery_modes_supported"]
    parameters = {
        "scope": "openid profile",
        "login_hint": provider.phone,
        "binding_message": "工单 4711",
    }
    proc, started = run_desk(node, provider, desk, parameters)
    assert started["expires_in"] == 300 and started["interval"] == 5
    request = shown(phone_app, "工单 4711")
    assert request["client_name"] == "12345 热线坐席"
    # "--": an approval id may begin with a dash (token_urlsafe)
    assert idp_app(phone_app, "approve", "--", request["id"])["amr"] == ["swk"]

    result = finished(proc)
    assert result["ok"], result
    claims = result["claims"]  # as openid-client checked them: signature, iss, aud, exp, iat
    assert claims["iss"] == provider.url and claims["aud"] == desk["client_id"]
    assert (claims["acr"], claims["amr"]) == (LOA2, ["swk"])
    assert result["scope"] == "openid profile" and result["token_type"].lower() == "bearer"
    userinfo = requests.get(
        f"{provider.url}/userinfo",
        headers={"Authorization": f"Bearer {result['access_token']}"},
        timeout=10,
    ).json()
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["preferred_username"] == provider.username


def test_a_denial_in_the_app_reaches_the_desk_as_access_denied(
    node: str, provider: Provider, desk: dict[str, Any], phone_app: Path
) -> None:
    parameters = {"scope": "openid", "login_hint": provider.phone, "binding_message": "工单 4712"}
    proc, _started = run_desk(node, provider, desk, parameters)
    idp_app(phone_app, "deny", "--", shown(phone_app, "工单 4712")["id"])
    result = finished(proc)
    assert not result["ok"]
    assert result["error"]["error"] == "access_denied", result


def test_an_unknown_caller_is_refused_before_anything_waits(
    node: str, provider: Provider, desk: dict[str, Any]
) -> None:
    config = {
        "issuer": provider.url,
        "client_id": desk["client_id"],
        "client_secret": desk["client_secret"],
        "parameters": {"scope": "openid", "login_hint": "17000000999"},
    }
    done = subprocess.run(
        [node, "ciba.mjs"],
        env={**os.environ, "CIBA_CONFIG": json.dumps(config)},
        cwd=RP_NODE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 1 and result["error"]["error"] == "unknown_user_id", result
