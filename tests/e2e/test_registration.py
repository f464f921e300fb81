"""A citizen registers in a real browser (issue 4): phone and SMS code, password, real-name
verification against the population registry, then the ID number as the account name.

Everything runs as it does after `make run`: the four reference services (population and
enterprise registries, SMS gateway, face service) as processes started by
`python -m connectors.serve_all` on synthetic data, and `idp serve` with
IDP_CONNECTORS_VENDOR=govjson and the same shared key. The code the "SMS" carried is read
from the reference gateway's outbox, as `idp demo sms` does. Each module (so each xdist
worker) starts its own set on free ports and stops it by PID.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors import synthetic
from connectors.http import set_mode
from connectors.sms.govjson import GovJsonSmsGateway
from tests.e2e.conftest import (
    STOP_TIMEOUT,
    _environment,
    _idp,
    _serve,
    _stop,
    _wait_serving,
    upgrade_beside_reference_services,
    urlpath,
)
from tests.servers import free_port, stop_reference_services

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect = pytest.importorskip("playwright.sync_api").expect

PASSWORD = "Registration-e2e-2026!"  # every test account's
SIGN_IN = 'form:has(input[name="password"]) button[type="submit"]'


@dataclass(frozen=True)
class Stack:
    """The provider (`url`, as the conftest's `new_page` needs) and its reference services."""

    url: str
    env: dict[str, str]
    key: bytes
    services: dict[str, str]  # kind -> base URL
    data: synthetic.Dataset

    def person(self, index: int) -> synthetic.SyntheticPerson:
        person = self.data.persons[index]
        assert person.status == "alive", person
        return person


@dataclass(frozen=True)
class Citizen:
    phone: str
    person: synthetic.SyntheticPerson


@pytest.fixture(scope="module")
def provider() -> Iterator[Stack]:
    """Overrides the conftest's provider (so `new_page` opens pages on this one): the
    reference services and `idp serve` wired to them, no demo data."""
    tmp = Path(tempfile.mkdtemp(prefix="idp-reg-"))  # short: the embedded Redis socket
    key = secrets.token_bytes(32)
    key_file, data_file = tmp / "connectors_key", tmp / "registry.json"
    key_file.write_text(key.hex() + "\n")
    data = synthetic.generate()
    synthetic.save(data, data_file)
    services_log, serve_log = tmp / "services.log", tmp / "serve.log"
    services: subprocess.Popen[bytes] | None = None
    proc: subprocess.Popen[bytes] | None = None
    problems: list[str] = []
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = _environment(tmp, port)
    env.update(IDP_CONNECTORS_VENDOR="govjson", IDP_CONNECTORS_KEY=key.hex())
    try:
        services, urls = upgrade_beside_reference_services(
            env, key, key_file, data_file, services_log
        )
        proc = _serve(env, port, serve_log)
        _wait_serving(url, port, proc, serve_log)
        yield Stack(url=url, env=env, key=key, services=urls, data=data)
    finally:
        if proc is not None:
            problems += _stop(proc, tmp / "instance")
        if services is not None:
            problems += stop_reference_services(services, STOP_TIMEOUT)
        output = "".join(
            f"--- {path.name}\n{path.read_text(errors='replace')}"
            for path in (services_log, serve_log)
            if path.exists()
        )
        shutil.rmtree(tmp, ignore_errors=True)
    assert not problems, "; ".join(problems) + f"\n{output}"


def sms_code(stack: Stack, phone: str) -> str:
    """The code in the last text the reference gateway "delivered" to `phone`."""
    gateway = GovJsonSmsGateway(stack.services["sms"], stack.key, timeout=3)
    try:
        messages = gateway.outbox(phone)
    finally:
        gateway.close()
    assert messages, f"no text message to {phone}"
    message = messages[-1]
    assert message.template == "verification_code"
    assert message.params["code"] in message.text
    return message.params["code"]


def demo_sms_code(stack: Stack, phone: str) -> str:
    """The same code as the README tells a person to read it: `idp demo sms --phone PHONE`."""
    out = _idp(stack.env, "demo", "sms", "--phone", phone)
    codes = re.findall(r"(?<!\d)\d{6}(?!\d)", out)
    assert codes, out
    assert codes[0] == sms_code(stack, phone)  # the newest first
    return codes[0]


def masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def register(
    page: Any,
    stack: Stack,
    phone: str,
    screenshot: Callable[[Any, str], Path] | None = None,
    read_code: Callable[[Stack, str], str] = sms_code,
) -> None:
    """/register with `phone`, the code from the outbox and a password: ends signed in on
    the real-name page, at level 2."""
    page.goto("/register")
    expect(page.locator("h1")).to_have_text("注册")
    page.fill('input[name="phone"]', phone)
    page.check('input[name="agreement"]')
    if screenshot:
        screenshot(page, "register.png")
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_url(re.compile(r"/register/[\w-]+$"))
    expect(page.locator(".lead")).to_contain_text(masked(phone))
    assert phone not in page.content()

    page.fill('input[name="code"]', read_code(stack, phone))
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="创建账号").click()
    page.wait_for_url(f"{stack.url}/account/realname")
    expect(page.locator(".notice")).to_have_text(
        "账号已创建。完成实名认证后即可办理需要实名的业务。"
    )


def submit_real_name(page: Any, person: synthetic.SyntheticPerson) -> Any:
    """Fill and send the real-name form; the response to the POST."""
    page.fill('input[name="name"]', person.name)
    page.fill('input[name="id_number"]', person.id_number)
    with page.expect_response(
        lambda r: r.request.method == "POST" and urlpath(r.url) == "/account/realname"
    ) as answer:
        page.get_by_role("button", name="核验").click()
    page.wait_for_load_state()
    return answer.value


def expect_level(page: Any, level: int) -> None:
    if urlpath(page.url) != "/account":
        page.goto("/account")
    expect(page.locator("dt", has_text="可信等级")).to_be_visible()
    expect(page.locator('dd[data-field="loa"]')).to_have_text(re.compile(rf"^\s*{level} 级"))


@pytest.fixture(scope="module")
def citizen(browser: Any, provider: Stack) -> Iterator[Citizen]:
    """Someone who registered and verified their real name (测试乙), in a browser of
    their own that is closed again."""
    found = Citizen(phone="17000000602", person=provider.person(1))
    context = browser.new_context(locale="zh-CN", base_url=provider.url)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        register(page, provider, found.phone)
        assert submit_real_name(page, found.person).status == 303
        page.wait_for_url(f"{provider.url}/account")
        expect_level(page, 3)
    finally:
        context.close()
    yield found


def test_register_and_verify_real_name(
    new_page: Callable[..., Any], provider: Stack, screenshot: Callable[[Any, str], Path]
):
    phone, person = "17000000601", provider.person(0)
    page = new_page()
    register(page, provider, phone, screenshot, read_code=demo_sms_code)
    expect(page.locator("h1")).to_have_text("实名认证")
    expect_level(page, 2)
    expect(page.locator('dd[data-field="phone"]')).to_have_text(masked(phone))
    expect(page.locator('dd[data-field="name"]')).to_have_text("（未实名）")

    page.get_by_role("link", name="实名认证").click()
    page.wait_for_url(f"{provider.url}/account/realname")
    page.fill('input[name="name"]', person.name)
    page.fill('input[name="id_number"]', person.id_number)
    screenshot(page, "realname.png")
    page.get_by_role("button", name="核验").click()
    page.wait_for_url(f"{provider.url}/account")
    expect(page.locator(".notice")).to_have_text("实名认证成功，您的可信等级已提升为 3 级。")
    expect_level(page, 3)
    expect(page.locator('dd[data-field="name"]')).to_have_text(person.name)
    assert person.id_number not in page.content()
    screenshot(page, "account-realname.png")

    page.goto("/account/realname")  # nothing left to do there
    expect(page.locator('[data-field="loa"]')).to_have_text("您已完成实名认证（3 级）。")
    expect(page.locator('input[name="id_number"]')).to_have_count(0)


def test_the_same_identity_cannot_have_a_second_account(
    new_page: Callable[..., Any],
    provider: Stack,
    citizen: Citizen,
    screenshot: Callable[[Any, str], Path],
):
    page = new_page()  # another browser, another phone, the same name and ID number
    register(page, provider, "17000000603")
    answer = submit_real_name(page, citizen.person)
    assert answer.status == 303  # POST/redirect/GET: the refusal is on the page after
    assert urlpath(page.url) == "/account/realname"
    alert = page.get_by_role("alert")  # the same words as any other refusal (issue 11)
    expect(alert).to_contain_text("姓名与证件号码未通过人口信息库核验")
    expect(alert).to_contain_text("如该身份已有账号")
    assert masked(citizen.phone) not in page.content()  # not even masked
    assert citizen.phone not in page.content()
    other = page.get_by_role("link", name="使用已有账号登录")
    expect(other).to_have_attribute("href", "/login?switch=1")
    screenshot(page, "realname-taken.png")

    other.click()  # the recovery path: the sign-in form, though signed in here
    page.wait_for_url(f"{provider.url}/login?switch=1")
    expect(page.locator('input[name="username"]')).to_be_visible()

    expect_level(page, 2)  # the second account is unchanged
    expect(page.locator('dd[data-field="name"]')).to_have_text("（未实名）")


def test_sign_in_with_the_id_number(
    new_page: Callable[..., Any], provider: Stack, citizen: Citizen
):
    page = new_page()
    page.goto("/login")
    page.fill('input[name="username"]', citizen.person.id_number)
    page.fill('input[name="password"]', PASSWORD)
    page.click(SIGN_IN)
    page.wait_for_url(f"{provider.url}/account")
    expect(page.locator('dd[data-field="phone"]')).to_have_text(masked(citizen.phone))
    expect(page.locator('dd[data-field="name"]')).to_have_text(citizen.person.name)
    expect_level(page, 3)


def test_registry_outage_says_try_later(
    new_page: Callable[..., Any], provider: Stack, screenshot: Callable[[Any, str], Path]
):
    person = provider.person(2)
    page = new_page()
    register(page, provider, "17000000604")
    population = provider.services["population"]
    set_mode(population, provider.key, "fail")
    try:
        answer = submit_real_name(page, person)
        assert answer.status == 303
        expect(page.get_by_role("alert")).to_contain_text(
            "人口信息库暂时无法响应，您的信息未作任何更改，请稍后再试。"
        )
        expect(page.locator('input[name="name"]')).to_have_value(person.name)
        screenshot(page, "realname-unavailable.png")
        expect_level(page, 2)
    finally:
        set_mode(population, provider.key, "normal")

    page.goto("/account/realname")  # the registry is back: the same person succeeds
    assert submit_real_name(page, person).status == 303
    page.wait_for_url(f"{provider.url}/account")
    expect_level(page, 3)


def test_the_code_page_counts_the_wait_down_and_lets_the_number_be_changed(
    new_page: Callable[..., Any], provider: Stack, screenshot: Callable[[Any, str], Path]
):
    phone = "17000000605"
    page = new_page()
    page.clock.install()  # the page's timers, run forward below
    page.goto("/register")
    page.fill('input[name="phone"]', phone)
    page.check('input[name="agreement"]')
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_url(re.compile(r"/register/[\w-]+$"))
    hint = page.locator("#resend-hint")
    expect(hint).to_contain_text("秒后可重新获取")
    screenshot(page, "register-code-wait.png")
    page.clock.run_for(61_000)
    expect(hint).to_have_text("现在可以重新获取验证码，之前的验证码将失效。")

    # the server keeps its own time: a press before the real minute is over is refused
    page.get_by_role("button", name="重新获取验证码").click()
    expect(page.locator("#resend-error")).to_contain_text("秒后可重新获取验证码")
    assert len(read_outbox(provider, phone)) == 1

    page.get_by_role("button", name="更换手机号码").click()
    page.wait_for_url(f"{provider.url}/register")
    expect(page.locator('input[name="phone"]')).to_have_value(phone)
    expect(page.locator('input[name="agreement"]')).to_be_checked()


def read_outbox(stack: Stack, phone: str) -> list[Any]:
    gateway = GovJsonSmsGateway(stack.services["sms"], stack.key, timeout=3)
    try:
        return gateway.outbox(phone)
    finally:
        gateway.close()
