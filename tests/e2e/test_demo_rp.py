"""The README's round trip in a real browser: the demo RP signs in through the provider,
shows the ID token's claims, and signs out through the provider's end_session. When the
sign-in fails (the person declines, a forged or stale callback, the provider does not
answer) the demo RP says what to do in Chinese with a way to try again, never a 500."""

from __future__ import annotations

import sys

import pytest

from tests.e2e.conftest import REPO, _idp, urlpath
from tests.servers import free_port

pytestmark = pytest.mark.browser


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


def sign_in_to_consent(page, provider, demo_rp) -> None:
    """Sign in to the demo RP as a person of this test's own, who has never consented to
    it (the demo person may have, earlier in the module), up to the consent page."""
    username, phone, password = "decliner", "17000000672", "Decline-Test-2026"
    _idp(
        provider.env,
        "person",
        "create",
        "--username",
        username,
        "--phone",
        phone,
        "--password",
        password,
    )
    page.goto(demo_rp + "/")
    page.click("#signin")
    page.wait_for_url(f"{provider.url}/login**")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"]')
    page.wait_for_selector('button[name="decision"][value="deny"]')


def test_declining_consent_shows_a_chinese_message_and_a_way_to_try_again(
    new_page, provider, demo_rp, screenshot
):
    page = new_page()
    sign_in_to_consent(page, provider, demo_rp)
    with page.expect_navigation(url=f"{demo_rp}/callback**") as arrived:
        page.click('button[name="decision"][value="deny"]')
    assert arrived.value.status == 400  # not 500
    failure = page.inner_text("#failure")
    assert "您已拒绝授权，本应用没有获得您的任何信息" in failure
    assert "错误代码（供技术人员排查）：access_denied" in failure
    assert "Internal Server Error" not in page.content()
    screenshot(page, "demo-rp-declined.png")
    # trying again leads back to the provider's consent, and this time it goes through
    page.click("#retry")
    page.wait_for_selector('button[name="decision"][value="allow"]')
    page.click('button[name="decision"][value="allow"]')
    page.wait_for_url(demo_rp + "/")
    assert page.query_selector('td[data-claim="sub"]') is not None


def test_a_forged_callback_is_refused_in_chinese(new_page, demo_rp):
    page = new_page()
    response = page.goto(f"{demo_rp}/callback?code=stolen&state=not-ours")
    assert response.status == 400
    failure = page.inner_text("#failure")
    assert "为保障安全未予登录" in failure and "mismatching_state" in failure
    assert page.query_selector("#retry") is not None
    assert page.query_selector("td[data-claim]") is None  # nobody signed in


@pytest.mark.parametrize(
    "error, said",
    [
        ("login_required", "需要您在统一身份认证平台登录或确认后才能继续"),
        ("temporarily_unavailable", "统一身份认证平台暂时繁忙"),
        ("invalid_request_object", "这不是您的操作问题"),
    ],
)
def test_every_error_the_provider_can_send_back_has_a_message(new_page, demo_rp, error, said):
    page = new_page()
    response = page.goto(f"{demo_rp}/callback?error={error}&error_description=x&state=s")
    assert response.status == 400
    assert said in page.inner_text("#failure") and error in page.inner_text("#failure")


def test_a_provider_that_does_not_answer(tmp_path):
    sys.path.insert(0, str(REPO / "examples"))
    try:
        import demo_rp
    finally:
        sys.path.remove(str(REPO / "examples"))
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = demo_rp.create_app(
        {"client_id": "c", "client_secret": "s", "issuer": closed, "url": "http://127.0.0.1:1"}
    )
    response = app.test_client().get("/login")
    body = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "暂时无法连接统一身份认证平台" in body and "provider_unreachable" in body
    assert 'id="retry"' in body
