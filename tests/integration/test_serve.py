"""`idp serve` over real HTTP: granian with two worker processes and the embedded Redis.

The sign-in session lives in Redis, so whichever worker answers a request must know it.
SIGTERM stops the server, its workers and the embedded Redis it started.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from idp.store import embedded
from tests.helpers import CSRF
from tests.servers import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
IDP = Path(sys.executable).parent / "idp"
SSO_COOKIE = "idp_sid"


# -- processes ------------------------------------------------------------------------------
def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"  # a zombie is as good as gone


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = int(stat[1])
    found, frontier = [], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def granian(pid: int) -> list[int]:
    def cmdline(child: int) -> bytes:
        try:
            return Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            return b""

    return [child for child in descendants(pid) if b"granian" in cmdline(child)]


@dataclass
class Served:
    url: str
    port: int
    instance: Path
    log: Path
    proc: subprocess.Popen[bytes]
    username: str
    password: str

    @property
    def redis_pid(self) -> int:
        return int((self.instance / "redis.pid").read_text())

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def launch() -> Iterator[Callable[[], Served]]:
    """`idp db upgrade` and `idp demo seed`; then launch() runs `idp serve --workers 2`."""
    tmp = Path(tempfile.mkdtemp(prefix="idp-"))
    instance, log = tmp / "i", tmp / "serve.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
    env.update(
        IDP_INSTANCE_DIR=str(instance),
        IDP_ISSUER=f"http://127.0.0.1:{port}",
        IDP_PASSWORD_TIME_COST="1",
        IDP_PASSWORD_MEMORY_KIB="8192",
    )
    for args in (["db", "upgrade"], ["demo", "seed", "--json"]):
        done = subprocess.run(
            [str(IDP), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"idp {' '.join(args)}:\n{done.stdout}{done.stderr}"
    demo = json.loads(done.stdout)
    started: list[Served] = []

    def start() -> Served:
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [str(IDP), "serve", "--workers", "2", "--port", str(port)],
                env=env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(
            Served(
                f"http://127.0.0.1:{port}",
                port,
                instance,
                log,
                proc,
                demo["username"],
                demo["password"],
            )
        )
        return started[-1]

    yield start
    for served in started:
        proc = served.proc
        tree = descendants(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)  # a clean stop takes well under a second
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for pid in tree:  # a granian that hung on SIGTERM
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    embedded.stop(instance)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def served(launch: Callable[[], Served]) -> Served:
    served = launch()
    wait_for_port(served.port, timeout=30, proc=served.proc)
    return served


# -- a browser ----------------------------------------------------------------------------------
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class Reply:
    status: int
    headers: Message  # case-insensitive: granian sends lower-case names
    body: str


class Browser:
    """Keeps cookies like a browser; reports redirects instead of following them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(
        self, path: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=10) as response:
                return Reply(response.status, response.headers, response.read().decode())
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            return Reply(error.code, error.headers, error.read().decode())

    def csrf(self, path: str) -> str:
        page = self.request(path)
        assert page.status == 200, page.status
        match = CSRF.search(page.body)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


def worker_pids(served: Served) -> list[int]:
    processes = granian(served.proc.pid)
    return [pid for pid in processes if (stat := _stat(pid)) and int(stat[1]) in processes]


def booted(pid: int) -> bool:
    """A forked worker runs one thread until granian builds its server (after loading the
    app and installing the worker's own signal handlers); then it runs several."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return int(status.split("Threads:")[1].split()[0]) > 1


def wait_ready(browser: Browser, served: Served, timeout: float = 30) -> None:
    """/healthz answers and both workers have booted (the port opens before they do)."""
    deadline = time.monotonic() + timeout
    while True:
        assert served.proc.poll() is None, f"idp serve exited:\n{served.output()}"
        workers = worker_pids(served)
        try:
            if (
                len(workers) == 2
                and all(map(booted, workers))
                and browser.request("/healthz").status == 200
            ):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"idp serve not ready after {timeout}s:\n{served.output()}")
        time.sleep(0.05)


# -- tests --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_session_is_shared_by_both_workers_and_ends_on_both(served):
    browser = Browser(served.url)
    wait_ready(browser, served)
    assert len(granian(served.proc.pid)) == 3, "granian's main process and 2 workers"

    login = browser.request("/login")
    assert login.status == 200 and "登录" in login.body
    assert "frame-ancestors 'none'" in login.headers["Content-Security-Policy"]
    assert login.headers["X-Frame-Options"] == "DENY"
    match = CSRF.search(login.body)
    assert match, "no CSRF token on /login"
    token = match.group(1)
    signed_in = browser.request(
        "/login", {"username": served.username, "password": served.password, "csrf_token": token}
    )
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/account"
    sso = browser.cookie(SSO_COOKIE)
    assert sso

    # every request is a new connection, so the kernel spreads them over both workers
    pages = [browser.request("/account") for _ in range(20)]
    assert [page.status for page in pages] == [200] * 20
    for page in pages:
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert "170****0001" in page.body and "17000000001" not in page.body

    token = browser.csrf("/logout")
    out = browser.request("/logout", {"csrf_token": token})
    assert out.status == 303 and out.headers["Location"] == "/login"
    assert browser.cookie(SSO_COOKIE) is None

    replay = Browser(served.url)
    for _ in range(6):  # refused by whichever worker answers
        stale = replay.request("/account", headers={"Cookie": f"{SSO_COOKIE}={sso}"})
        assert stale.status == 303 and stale.headers["Location"].startswith("/login")
    assert "Traceback" not in served.output()


@pytest.mark.slow
def test_sigterm_stops_the_workers_and_the_embedded_redis(served):
    browser = Browser(served.url)
    wait_ready(browser, served)
    processes, redis_pid = granian(served.proc.pid), served.redis_pid
    assert len(processes) == 3 and alive(redis_pid)
    assert embedded._alive(served.instance / embedded.SOCKET_NAME)

    served.proc.send_signal(signal.SIGTERM)
    code = served.proc.wait(15)

    output = served.output()
    assert code == 0, f"exit {code}\n{output}"
    assert f"on {served.url} with 2 workers" in output
    assert "Traceback" not in output
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(map(alive, [redis_pid, *processes])):
        time.sleep(0.05)
    assert not alive(redis_pid), "embedded Redis still running"
    assert not embedded._alive(served.instance / embedded.SOCKET_NAME)
    assert [pid for pid in processes if alive(pid)] == [], "granian processes left behind"
    with pytest.raises(OSError):
        browser.request("/healthz")


@pytest.mark.slow
def test_sigterm_while_the_workers_boot_still_stops_the_server(launch):
    """A forked granian worker keeps granian's main SIGTERM handler until it has loaded the
    app, so it swallows a SIGTERM sent while it boots (e.g. systemd stopping a service that
    just started); only granian's --workers-kill-timeout then ends it. Without that, `idp
    serve` never exits and its embedded Redis keeps running."""
    served = launch()
    deadline = time.monotonic() + 30
    while len(workers := worker_pids(served)) < 2:
        assert served.proc.poll() is None and time.monotonic() < deadline, served.output()
        time.sleep(0.005)
    if all(map(booted, workers)):
        pytest.skip("missed the window: both workers had booted")
    processes, redis_pid = granian(served.proc.pid), served.redis_pid
    served.proc.send_signal(signal.SIGTERM)  # a worker is still importing the app
    try:
        code = served.proc.wait(15)
    except subprocess.TimeoutExpired:
        code = None
        for pid in [*descendants(served.proc.pid), served.proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        served.proc.wait(5)
    assert code == 0, "idp serve still running 15 s after SIGTERM"
    assert not alive(redis_pid), "embedded Redis still running"
    assert [pid for pid in processes if alive(pid)] == [], "granian processes left behind"
