"""The provider as a user runs it (`idp db upgrade`, `idp demo seed`, `idp serve`) in a
separate process, and Debian's chromium driven through Playwright.

Each test module (and so each xdist worker) starts its own server on a free port with its
own instance directory; the browser is shared by the tests of one worker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.servers import free_port, start_reference_services, wait_for_port

REPO = Path(__file__).resolve().parents[2]
IDP = Path(sys.executable).parent / "idp"  # the console script of this virtualenv
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = REPO / "test-output" / "screenshots"
STOP_TIMEOUT = 15  # seconds


@dataclass(frozen=True)
class Provider:
    url: str
    username: str
    password: str
    phone: str
    env: dict[str, str]


def _environment(tmp: Path, port: int) -> dict[str, str]:
    # Nothing from the caller's own setup: a fresh instance, as a new user would have.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
    env.update(
        IDP_INSTANCE_DIR=str(tmp / "instance"),
        IDP_ISSUER=f"http://127.0.0.1:{port}",
        IDP_PASSWORD_TIME_COST="1",
        IDP_PASSWORD_MEMORY_KIB="8192",
    )
    return env


def _idp(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(IDP), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"idp {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def upgrade_beside_reference_services(
    env: dict[str, str], key: bytes, key_file: Path, data_file: Path, log_path: Path
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """The reference services (registries, SMS gateway, face) started while the schema is
    made (the migration never calls them), and `env` pointed at them: their process and
    kind -> URL. `env` must already carry the connectors' vendor and key."""
    with ThreadPoolExecutor(1) as pool:
        upgraded = pool.submit(_idp, dict(env), "db", "upgrade")
        with log_path.open("wb") as log:
            services, urls = start_reference_services(key, key_file, data_file, log)
        upgraded.result()
    env.update(
        IDP_POPULATION_REGISTRY_URL=urls["population"],
        IDP_ENTERPRISE_REGISTRY_URL=urls["enterprise"],
        IDP_SMS_GATEWAY_URL=urls["sms"],
        IDP_FACE_VERIFIER_URL=urls["face"],
    )
    return services, urls


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"idp serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url}/healthz did not answer 200 within {timeout}s")
        time.sleep(0.05)


def _serve(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Starts `idp serve` (two workers) on `port`, its output to `log_path`."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(IDP), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_serving(url: str, port: int, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Waits for `_serve`'s server to answer healthy; on failure, raises with its log."""
    try:
        wait_for_port(port, timeout=30, proc=proc)
        _wait_healthy(url, proc)
    except (RuntimeError, TimeoutError) as exc:
        raise RuntimeError(f"{exc}\n{log_path.read_text(errors='replace')}") from None


def _redis_listening(instance: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(instance / "redis.sock"))
        except OSError:  # no socket file, or nobody accepting on it
            return False
    return True


def _stop(proc: subprocess.Popen[bytes], instance: Path) -> list[str]:
    """SIGTERM, as an operator or systemd would; what did not go cleanly, in words."""
    problems = []
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own group: `idp serve` and granian
        proc.wait(5)
        problems.append(f"`idp serve` was still running {STOP_TIMEOUT}s after SIGTERM")
    else:
        if code != 0:
            problems.append(f"`idp serve` exited with {code} after SIGTERM")
    if _redis_listening(instance):
        from idp.store import embedded

        embedded.stop(instance)
        problems.append("the embedded Redis was still running after `idp serve` exited")
    return problems


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    tmp = Path(tempfile.mkdtemp(prefix="idp-"))  # short: the embedded Redis has a unix socket
    port = free_port()
    env = _environment(tmp, port)
    url = f"http://127.0.0.1:{port}"
    log_path = tmp / "serve.log"
    proc: subprocess.Popen[bytes] | None = None
    problems: list[str] = []
    try:
        _idp(env, "db", "upgrade")
        demo = json.loads(_idp(env, "demo", "seed", "--json"))
        proc = _serve(env, port, log_path)
        _wait_serving(url, port, proc, log_path)
        yield Provider(
            url=url,
            username=demo["username"],
            password=demo["password"],
            phone=demo["phone"],
            env=env,
        )
    finally:
        if proc is not None:
            problems = _stop(proc, tmp / "instance")
        output = log_path.read_text(errors="replace") if log_path.exists() else ""
        shutil.rmtree(tmp, ignore_errors=True)
    assert not problems, "; ".join(problems) + f"\n{output}"


@contextmanager
def running_demo_rp(env: dict[str, str]) -> Iterator[str]:
    """examples/demo_rp.py registered with (`idp demo seed --rp-url`) and running beside
    the provider `env` configures; its URL."""
    url = f"http://127.0.0.1:{free_port()}"
    _idp(env, "demo", "seed", "--rp-url", url)
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "examples/demo_rp.py")],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(urlsplit(url).port, proc=proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def demo_rp(provider: Provider) -> Iterator[str]:
    """The demo RP, one per provider: the provider keeps a client in its cache for a few
    seconds, so a demo RP registered again at a new address between two tests would meet
    its old redirect URI."""
    with running_demo_rp(provider.env) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any, provider: Provider) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh browser context (its own cookies: another person's browser).

    The browser asks for Chinese, as most visitors' do. Whatever a context still has signed
    in at the end of the test is signed out, so that tests leave no sessions behind.
    """
    contexts: list[Any] = []

    def open_page(**options: Any) -> Any:
        settings = {
            "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai",
            "base_url": provider.url,
            "viewport": {"width": 1000, "height": 800},
        }
        context = browser.new_context(**{**settings, **options})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.goto("/logout")
            if urlpath(page.url) == "/logout":
                page.click('button[name="decision"][value="logout"]')
                page.wait_for_url("**/login")
        finally:
            context.close()


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    def take(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def urlpath(url: str) -> str:
    return urlsplit(url).path
