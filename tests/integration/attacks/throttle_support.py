"""A provider under attack as the throttling tests need it: `idp serve --workers 2` (as in
conftest.py) wired to the reference services started by `python -m connectors.serve_all`
(population registry, SMS gateway with its outbox, face service) on synthetic data, behind
one trusted proxy hop so that each test can speak from an address of its own
(X-Forwarded-For), as attackers with many addresses would.

A test module makes its own server with `server_fixture(**env)`, e.g.
`guarded = server_fixture(IDP_REALNAME_TRIES_PER_ADDRESS="8")`.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from connectors import synthetic
from connectors.http import set_mode
from connectors.sms.govjson import GovJsonSmsGateway
from tests.integration.attacks.conftest import Browser, Live, provider_process
from tests.servers import (
    PostgresServer,
    RedisServer,
    start_reference_services,
    stop_reference_services,
)

PASSWORD = "teapot-harbour-2026"
TRIES_LEFT = re.compile(r"还可尝试 (\d+) 次")
FLOW = re.compile(r"/(register|recover)/([\w-]+)$")


class Guarded(Live):
    """A running provider with its reference services, their key and their data."""

    def __init__(
        self,
        url: str,
        env: dict[str, str],
        app: Flask,
        log: Path,
        key: bytes,
        services: dict[str, str],
        data: synthetic.Dataset,
    ) -> None:
        super().__init__(url, env, app, log)
        self.key = key
        self.services = services
        self.data = data

    def sms_code(self, phone: str) -> str:
        """The code in the last text the reference gateway "delivered" to `phone`."""
        gateway = GovJsonSmsGateway(self.services["sms"], self.key, timeout=3)
        try:
            messages = gateway.outbox(phone)
        finally:
            gateway.close()
        assert messages, f"no text message to {phone}"
        return messages[-1].params["code"]

    def registry_mode(self, mode: str) -> None:
        """ "fail" makes the population registry answer 503 to whoever asks it."""
        set_mode(self.services["population"], self.key, mode)

    def alive(self, index: int) -> synthetic.SyntheticPerson:
        return self.data.persons_with("alive")[index]

    def browser_from(self, address: str, person: dict[str, str] | None = None) -> Browser:
        """A browser whose requests come from `address` (through the trusted proxy)."""
        browser = Browser(self, person)
        browser.http.headers["X-Forwarded-For"] = address
        return browser


def new_phone() -> str:
    return f"1709{secrets.randbelow(10**7):07d}"


_ADDRESSES = iter(
    [f"{net}.{host}" for net in ("192.0.2", "198.51.100", "203.0.113") for host in range(1, 255)]
)


def new_address() -> str:
    """A source address of the documentation blocks (RFC 5737) no test used before."""
    return next(_ADDRESSES)


def start_flow(browser: Browser, kind: str, phone: str) -> str:
    """POST /register or /recover with `phone`: the confirm page's path."""
    data = {"phone": phone, "csrf_token": browser.csrf(f"/{kind}")}
    if kind == "register":
        data["agreement"] = "yes"
    response = browser.post(f"/{kind}", data)
    assert response.status_code == 303, response.text[:500]
    location = response.headers["Location"]
    assert FLOW.search(location), location
    return "/" + location.split("/", 3)[-1] if location.startswith("http") else location


def at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads released together by a barrier."""
    barrier = threading.Barrier(count)

    def run(i: int) -> Any:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


# -- the servers -----------------------------------------------------------------------------
def server_fixture(**extra_env: str) -> Any:
    """A module-scoped fixture: a Guarded provider started with `extra_env` on top."""

    @pytest.fixture(scope="module")
    def guarded(attack_postgres: PostgresServer) -> Iterator[Guarded]:
        tmp = Path(tempfile.mkdtemp(prefix="idp-thr-"))
        key = secrets.token_bytes(32)
        key_file, data_file = tmp / "connectors_key", tmp / "registry.json"
        key_file.write_text(key.hex() + "\n")
        data = synthetic.generate(persons=99)  # more living people than a module needs
        synthetic.save(data, data_file)
        redis = RedisServer().start()
        with (tmp / "services.log").open("ab") as services_log:
            services, urls = start_reference_services(key, key_file, data_file, services_log)
        connectors = {
            "connectors_vendor": "govjson",
            "connectors_key": key.hex(),
            "population_registry_url": urls["population"],
            "enterprise_registry_url": urls["enterprise"],
            "sms_gateway_url": urls["sms"],
            "face_verifier_url": urls["face"],
        }
        env = {f"IDP_{name.upper()}": value for name, value in connectors.items()}
        try:
            with provider_process(
                attack_postgres,
                tmp,
                redis.url,
                env={**env, "IDP_TRUSTED_PROXIES": "1", **extra_env},
                settings=connectors,
            ) as (url, full_env, app, log):
                yield Guarded(url, full_env, app, log, key, urls, data)
        finally:
            stop_reference_services(services)
            redis.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)

    return guarded


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def sign_in_from(live: Guarded, address: str, **fields: str) -> tuple[dict[str, str], Browser]:
    """A new level-2 person (a phone is enough for one), signed in from `address`."""
    person = live.person(**fields)
    browser = live.browser_from(address, person)
    response = browser.sign_in()
    assert response.status_code == 303, response.text[:300]
    return person, browser


def post_form(browser: Browser, path: str, **fields: str) -> requests.Response:
    return browser.post(path, {**fields, "csrf_token": browser.csrf(path)})
