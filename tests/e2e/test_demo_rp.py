"""The README's round trip in a real browser: the demo RP signs in through the provider,
shows the ID token's claims, and signs out through the provider's end_session."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.conftest import IDP, REPO, urlpath
from tests.servers import free_port, wait_for_port

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_rp(provider):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    subprocess.run(
        [str(IDP), "demo", "seed", "--rp-url", url],
        env=provider.env,
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "examples/demo_rp.py")],
        env=provider.env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc=proc)
    yield url
    proc.terminate()
    proc.wait(10)


def test_demo_rp_round_trip(new_page, provider, demo_rp, screenshot):
    page = new_page()
    page.goto(demo_rp + "/")
    page.click("#signin")
    page.wait_for_url(f"{provider.url}/login**")
    page.fill('input[name="username"]', provider.username)
    page.fill('input[name="password"]', provider.password)
    page.click('button[type="submit"]')
    page.wait_for_selector('button[name="decision"][value="allow"]')
    assert "演示应用（社保查询）" in page.content()
    screenshot(page, "consent.png")
    page.click('button[name="decision"][value="allow"]')
    page.wait_for_url(demo_rp + "/")
    claims = {
        row.get_attribute("data-claim"): row.inner_text()
        for row in page.query_selector_all("td[data-claim]")
    }
    assert claims["iss"] == provider.url
    assert claims["acr"] == "urn:cn:gov:idp:loa:2"
    assert claims["name"] == "演示用户"
    assert claims["phone_number"] == "+86" + provider.phone
    screenshot(page, "demo-rp-claims.png")

    page.click("text=退出")
    page.wait_for_url(demo_rp + "/")
    assert page.query_selector("#signin") is not None
    page.goto(provider.url + "/account")
    assert urlpath(page.url) == "/login"  # the provider session ended too
