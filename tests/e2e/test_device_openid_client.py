"""Acceptance of the device authorization grant (RFC 8628) with an independent client: npm
openid-client 6.x, unchanged (rp_node/device.mjs), plays a kiosk against a real
`idp serve`; the person answers with the reference app (`idp-app`, its console script,
over HTTP) or types the code in chromium, with the keyboard only, in large-text mode.

The kiosk ends with an ID token openid-client has checked, whose `sub` is the person's
pairwise `sub` in the department's sector: the same one the department's web system gets
when the person signs in there with a password.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from tests.e2e.conftest import Provider, _idp
from tests.e2e.rp_deployment import RP_NODE, _install_openid_client

pytestmark = pytest.mark.slow

SECTOR = "renshe.example.test"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
IDP_APP = Path(sys.executable).parent / "idp-app"
WEB_REDIRECT = "http://127.0.0.1:9/cb"  # nobody listens: the code is read from the redirect
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TIMEOUT = 10


@pytest.fixture(scope="module")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed (apt-get install nodejs npm)")
    _install_openid_client(npm)
    return node


@pytest.fixture(scope="module")
def clients(provider: Provider) -> dict[str, dict[str, Any]]:
    """The department's kiosk fleet (public, as a TV app would be) and web system, one sector."""

    def create(*options: str) -> dict[str, Any]:
        return dict(json.loads(_idp(provider.env, "client", "create", *options, "--json")))

    kiosk = create(
        *("--name", "社保自助终端", "--channel", "kiosk", "--sector", SECTOR),
        *("--grant-type", DEVICE_GRANT, "--grant-type", "refresh_token"),
        *("--token-endpoint-auth-method", "none"),
        *("--scope", "openid profile phone offline_access"),
    )
    web = create(
        *("--name", "社保网厅", "--sector", SECTOR, "--first-party"),
        *("--redirect-uri", WEB_REDIRECT, "--scope", "openid"),
    )
    return {"kiosk": kiosk, "web": web}


class DeviceKiosk:
    """device.mjs running: its codes once printed, then its tokens (or its error)."""

    def __init__(self, node: str, provider: Provider, client_id: str) -> None:
        config = {
            "issuer": provider.url,
            "client_id": client_id,
            "scope": "openid profile phone offline_access",
        }
        self.proc = subprocess.Popen(
            [node, "device.mjs"],
            cwd=RP_NODE,
            env={**os.environ, "DEVICE_CONFIG": json.dumps(config)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        text = self.proc.stdout.readline()
        assert text, f"device.mjs ended (exit {self.proc.wait(5)})"
        return dict(json.loads(text))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def kiosk(node: str, provider: Provider, clients: dict[str, Any]) -> Iterator[DeviceKiosk]:
    running = DeviceKiosk(node, provider, clients["kiosk"]["client_id"])
    yield running
    running.stop()


def idp_app(state: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(IDP_APP), "--state", str(state), *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"idp-app {args[0]}: {done.stderr}"
    return dict(json.loads(done.stdout)) if done.stdout.strip().startswith("{") else {}


def web_sub(provider: Provider, web: dict[str, Any]) -> str:
    """The `sub` the department's web system gets for the person (code + PKCE, password)."""
    http = requests.Session()
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    query = {
        "response_type": "code",
        "client_id": web["client_id"],
        "redirect_uri": WEB_REDIRECT,
        "scope": "openid",
        "state": secrets.token_urlsafe(8),
        "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    url = provider.url + "/authorize"
    answer = http.get(url, params=query, allow_redirects=False, timeout=TIMEOUT)
    for _ in range(6):
        url = urljoin(url, answer.headers.get("Location", ""))
        if url.startswith(WEB_REDIRECT):
            break
        if urlsplit(url).path == "/login":
            form = http.get(url, timeout=TIMEOUT).text
            found = CSRF.search(form)
            assert found, form[:300]
            fields = {
                "username": provider.username,
                "password": provider.password,
                "csrf_token": found.group(1),
                "txn": parse_qs(urlsplit(url).query)["txn"][0],
            }
            answer = http.post(
                provider.url + "/login", data=fields, allow_redirects=False, timeout=TIMEOUT
            )
        else:
            answer = http.get(url, allow_redirects=False, timeout=TIMEOUT)
    code = parse_qs(urlsplit(url).query)["code"][0]
    tokens = http.post(
        provider.url + "/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_REDIRECT,
              "code_verifier": verifier},
        auth=(web["client_id"], web["client_secret"]),
        timeout=TIMEOUT,
    ).json()  # fmt: skip
    payload = tokens["id_token"].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def test_discovery_offers_the_device_grant(provider: Provider) -> None:
    document = requests.get(provider.url + "/.well-known/openid-configuration", timeout=5).json()
    assert document["device_authorization_endpoint"] == provider.url + "/device_authorization"
    assert DEVICE_GRANT in document["grant_types_supported"]


def test_kiosk_signed_in_by_the_app_scanning_its_qr(
    provider: Provider, clients: dict[str, Any], kiosk: DeviceKiosk, tmp_path: Path
) -> None:
    codes = kiosk.line()
    assert codes["step"] == "codes", codes
    assert codes["verification_uri"] == provider.url + "/device"

    state = tmp_path / "phone.json"
    idp_app(state, "enrol", "--issuer", provider.url, "--username", provider.username,
            "--password", provider.password, "--name", "张三的手机")  # fmt: skip
    scanned = idp_app(state, "scan", codes["verification_uri_complete"])  # the QR's text
    idp_app(state, "approve", scanned["id"])

    result = kiosk.line()
    assert result["ok"], result
    claims = result["id_token_claims"]
    assert claims["iss"] == provider.url
    assert claims["aud"] == clients["kiosk"]["client_id"]
    assert claims["amr"] == ["swk"]
    assert claims["acr"].startswith("urn:cn:gov:idp:loa:")
    assert result["refresh_token"] and "offline_access" in result["scope"].split()
    assert claims["sub"] == web_sub(provider, clients["web"])


def test_kiosk_signed_in_by_a_code_typed_in_a_browser_with_the_keyboard(
    provider: Provider, kiosk: DeviceKiosk, new_page: Callable[..., Any], screenshot: Any
) -> None:
    codes = kiosk.line()
    page = new_page()
    page.goto("/device?mode=large")
    keyboard = page.keyboard
    page.focus("#user_code")  # autofocus puts the cursor there; say so explicitly
    keyboard.type(codes["user_code"].lower().replace("-", ""))
    keyboard.press("Enter")
    page.wait_for_selector("text=社保自助终端")
    assert "mode-large" in (page.get_attribute("body", "class") or "")
    screenshot(page, "device_confirm_large.png")
    page.focus('button[value="continue"]')
    keyboard.press("Enter")
    page.wait_for_selector('input[name="password"]')
    page.fill('input[name="username"]', provider.username)
    page.fill('input[name="password"]', provider.password)
    keyboard.press("Enter")
    page.wait_for_selector('button[value="allow"]')  # consent, as for any service
    page.focus('button[value="allow"]')
    keyboard.press("Enter")
    page.wait_for_selector('[data-outcome="done"]')
    screenshot(page, "device_done_large.png")

    result = kiosk.line()
    assert result["ok"], result
    assert result["id_token_claims"]["amr"] == ["pwd"]
