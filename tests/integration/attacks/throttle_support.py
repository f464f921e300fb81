"""A provider under attack as the throttling tests need it: `idp serve --workers 2` (as in
conftest.py) wired to the reference services started by `python -m connectors.serve_all`
(population registry, SMS gateway with its outbox, face service) on synthetic data, behind
one trusted proxy hop so that each test can speak from an address of its own
(X-Forwarded-For), as attackers with many addresses would.

A test module makes its own server with `server_fixture(**env)`, e.g.
`guarded = server_fixture(IDP_REALNAME_TRIES_PER_ADDRESS="8")`.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from connectors import synthetic
from connectors.errors import ConnectorError
from connectors.http import SignedClient, set_mode
from connectors.serve_all import KINDS
from connectors.sms.govjson import GovJsonSmsGateway
from tests.integration.attacks.conftest import IDP, REPO, Browser, Live, _wait_healthy
from tests.servers import PostgresServer, RedisServer, free_port, wait_for_port

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
def _four_free_ports() -> int:
    for _ in range(50):
        base = free_port()
        if base + len(KINDS) > 65535:
            continue
        with ExitStack() as held:
            try:
                for port in range(base, base + len(KINDS)):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return base
    raise RuntimeError("no four consecutive free ports on 127.0.0.1")


def _answers(url: str, key: bytes) -> bool:
    client = SignedClient(url, key, service="reference service")
    try:
        return client.call("GET", "/v1/health") == {"status": "ok"}
    except ConnectorError:
        return False
    finally:
        client.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _start_services(
    key_file: Path, data_file: Path, key: bytes, log: Path
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    for _ in range(3):
        base = _four_free_ports()
        urls = {kind: f"http://127.0.0.1:{base + i}" for i, kind in enumerate(KINDS)}
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "connectors.serve_all"),
                    *("--key-file", str(key_file), "--data", str(data_file)),
                    *("--base-port", str(base)),
                ],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            for port in range(base, base + len(KINDS)):
                wait_for_port(port, timeout=20, proc=proc)
            if all(_answers(url, key) for url in urls.values()):
                return proc, urls
        except RuntimeError:
            pass
        _stop(proc)
    raise RuntimeError(f"connectors.serve_all did not start:\n{log.read_text()}")


def server_fixture(**extra_env: str) -> Any:
    """A module-scoped fixture: a Guarded provider started with `extra_env` on top."""

    @pytest.fixture(scope="module")
    def guarded(attack_postgres: PostgresServer) -> Iterator[Guarded]:
        from app import create_app

        tmp = Path(tempfile.mkdtemp(prefix="idp-thr-"))
        key = secrets.token_bytes(32)
        key_file, data_file = tmp / "connectors_key", tmp / "registry.json"
        key_file.write_text(key.hex() + "\n")
        data = synthetic.generate(persons=99)  # more living people than a module needs
        synthetic.save(data, data_file)
        redis = RedisServer().start()
        services, urls = _start_services(key_file, data_file, key, tmp / "services.log")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
        env.update(
            IDP_INSTANCE_DIR=str(tmp / "instance"),
            IDP_ISSUER=url,
            IDP_DATABASE_URL=attack_postgres.create_database(f"thr_{uuid.uuid4().hex[:12]}"),
            IDP_REDIS_URL=redis.url,
            IDP_PASSWORD_TIME_COST="1",
            IDP_PASSWORD_MEMORY_KIB="8192",
            IDP_TRUSTED_PROXIES="1",
            IDP_CONNECTORS_VENDOR="govjson",
            IDP_CONNECTORS_KEY=key.hex(),
            IDP_POPULATION_REGISTRY_URL=urls["population"],
            IDP_ENTERPRISE_REGISTRY_URL=urls["enterprise"],
            IDP_SMS_GATEWAY_URL=urls["sms"],
            IDP_FACE_VERIFIER_URL=urls["face"],
            **extra_env,
        )
        proc: subprocess.Popen[bytes] | None = None
        app: Flask | None = None
        log = tmp / "serve.log"
        try:
            done = subprocess.run(
                [str(IDP), "db", "upgrade"],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            serve = [str(IDP), "serve", "--host", "127.0.0.1", "--port", str(port)]
            serve += ["--workers", "2"]
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    serve,
                    env=env,
                    cwd=REPO,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            app = create_app(
                {
                    "instance_dir": env["IDP_INSTANCE_DIR"],
                    "issuer": url,
                    "database_url": env["IDP_DATABASE_URL"],
                    "redis_url": redis.url,
                    "password_time_cost": 1,
                    "password_memory_kib": 8192,
                    "connectors_vendor": "govjson",
                    "connectors_key": key.hex(),
                    "population_registry_url": urls["population"],
                    "enterprise_registry_url": urls["enterprise"],
                    "sms_gateway_url": urls["sms"],
                    "face_verifier_url": urls["face"],
                }
            )
            wait_for_port(port, timeout=30, proc=proc)
            _wait_healthy(url, proc, log)
            yield Guarded(url, env, app, log, key, urls, data)
        finally:
            if proc is not None:
                _stop(proc)
            if app is not None:
                app.extensions["idp.db"].engine.dispose()
            _stop(services)
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
