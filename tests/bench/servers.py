"""The servers under load, each on a free loopback port in a temp dir, stopped by PID:

- `Idp`: a throwaway instance set up with the `idp` CLI and served by `idp serve`;
- `Baseline`: tests/bench/baseline_app.py under granian with `idp serve`'s settings;
- `NodeOidcProvider`: node oidc-provider 9.13 (tests/bench/node), when node and npm exist;
- `Trivial`: a fixed-answer asyncio server, to measure the load generator itself.
"""

from __future__ import annotations

import contextlib
import hashlib
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
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BENCH = Path(__file__).resolve().parent
IDP = Path(sys.executable).parent / "idp"  # the console script of this virtualenv
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# `idp serve --workers 2` runs granian with these settings (admin/commands.py, serve);
# the baseline gets exactly the same so that the ratio measures the application only.
GRANIAN_AS_IDP_SERVE = [
    "--interface", "wsgi", "--workers", "2", "--blocking-threads", "4",
    "--workers-kill-timeout", "10", "--no-ws",
    "--log-level", "warning",
]  # fmt: skip


class ServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise ServerError(f"exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise ServerError(f"{url} did not answer 200 within {timeout}s:\n{_tail(log)}")
        time.sleep(0.05)


def _tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def tree_cpu(root: int, extra: tuple[int, ...] = ()) -> float:
    """CPU seconds used so far by `root`, its descendants, and `extra` processes."""
    tree = _children()
    todo, total = [root], 0.0
    while todo:
        pid = todo.pop()
        total += _cpu_seconds(pid)
        todo.extend(tree.get(pid, []))
    return total + sum(_cpu_seconds(p) for p in extra)


class Server:
    name = "server"
    url = ""
    proc: subprocess.Popen[bytes] | None = None

    def cpu(self) -> float:
        return tree_cpu(self.proc.pid) if self.proc else 0.0

    def _kill_group(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)

    def stop(self) -> list[str]:
        """SIGTERM and wait; what did not go cleanly, in words."""
        problems = []
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                problems.append(f"{self.name} still running 20 s after SIGTERM: killed")
                self._kill_group()
        return problems


# -- the provider -----------------------------------------------------------------------
class Idp(Server):
    name = "idp"
    PASSWORD = "Quartz-river-lantern-9431"
    USERNAME = "bench"
    REDIRECT = "http://127.0.0.1:9/callback"  # never followed: the code is read off Location

    def __init__(self, password_cost: tuple[int, int] | None = None) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="idpb-"))  # short: holds a unix socket
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.instance = self.tmp / "instance"
        self.log = self.tmp / "serve.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
        self.env.update(IDP_INSTANCE_DIR=str(self.instance), IDP_ISSUER=self.url)
        # The provider's default argon2id parameters (t=2, m=19456 KiB, p=1) unless
        # `password_cost` (time cost, memory KiB) names others; the bench user's hash is
        # made with them, so no sign-in rehashes.
        if password_cost is not None:
            time_cost, memory_kib = password_cost
            self.env.update(
                IDP_PASSWORD_TIME_COST=str(time_cost), IDP_PASSWORD_MEMORY_KIB=str(memory_kib)
            )
        self.clients: dict[str, dict[str, Any]] = {}

    def _idp(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(IDP), *args],
            env=self.env,
            cwd=REPO,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise ServerError(f"idp {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def setup(self) -> None:
        self._idp("db", "upgrade")
        person = json.loads(
            self._idp(
                "person", "create", "--username", self.USERNAME, "--phone", "17000000009",
                "--name", "压测用户", "--password", "-", "--json",
                stdin=self.PASSWORD + "\n",
            )
        )  # fmt: skip
        if not person.get("ok"):
            raise ServerError(f"idp person create: {person}")
        # A service (client credentials; also the resource server that introspects the
        # web apps' access tokens, registered as such with --resource-server).
        self.clients["service"] = json.loads(
            self._idp(
                "client", "create", "--name", "bench-service", "--grant-type",
                "client_credentials", "--scope", "api", "--json",
            )
        )  # fmt: skip
        # A first-party web app: code + refresh, ES256 ID tokens, no consent page.
        self.clients["web"] = json.loads(
            self._idp(
                "client", "create", "--name", "bench-web", "--first-party",
                "--redirect-uri", self.REDIRECT,
                "--grant-type", "authorization_code", "--grant-type", "refresh_token",
                "--scope", "openid", "--scope", "profile", "--scope", "phone",
                "--scope", "offline_access",
                "--id-token-signed-response-alg", "ES256",
                "--resource-server", self.clients["service"]["client_id"], "--json",
            )
        )  # fmt: skip
        # The same web app for a department that must use 国密: SM2SM3 ID and access tokens.
        self.clients["web_sm2"] = json.loads(
            self._idp(
                "client", "create", "--name", "bench-web-sm2", "--first-party",
                "--redirect-uri", self.REDIRECT,
                "--grant-type", "authorization_code", "--grant-type", "refresh_token",
                "--scope", "openid", "--scope", "profile", "--scope", "phone",
                "--scope", "offline_access",
                "--id-token-signed-response-alg", "SM2SM3",
                "--access-token-signed-alg", "SM2SM3",
                "--resource-server", self.clients["service"]["client_id"], "--json",
            )
        )  # fmt: skip

    def start(self) -> None:
        threads = os.environ.get("BENCH_THREADS", "4")  # as `idp serve` unless asked
        cmd = [str(IDP), "serve", "--host", HOST, "--port", str(self.port), "--workers", "2",
               "--threads", threads]  # fmt: skip
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd,
                env=self.env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_ready(f"{self.url}/healthz", self.proc, self.log)

    def _redis_pid(self) -> int | None:
        try:
            return int((self.instance / "redis.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def cpu(self) -> float:
        """The provider's CPU: `idp serve`, granian and its workers, and the embedded Redis."""
        if self.proc is None:
            return 0.0
        redis_pid = self._redis_pid()
        return tree_cpu(self.proc.pid, (redis_pid,) if redis_pid else ())

    def stop(self) -> list[str]:
        problems = super().stop()
        if self.proc is not None and self.proc.returncode not in (0, None, -signal.SIGTERM):
            problems.append(f"`idp serve` exited with {self.proc.returncode} after SIGTERM")
        redis_pid = self._redis_pid()
        if redis_pid is not None and Path(f"/proc/{redis_pid}").exists():
            # `idp serve` stops its embedded Redis itself; leave nothing behind if it did not
            time.sleep(0.5)
            if Path(f"/proc/{redis_pid}").exists():
                problems.append("the embedded Redis was still running after `idp serve` exited")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(redis_pid, signal.SIGTERM)
        return problems

    def log_tail(self) -> str:
        return _tail(self.log)

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- the minimal Flask baseline ---------------------------------------------------------
class Baseline(Server):
    name = "baseline-flask"

    def __init__(self) -> None:
        from joserfc.jwk import ECKey

        self.tmp = Path(tempfile.mkdtemp(prefix="idpb-base-"))
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = self.tmp / "granian.log"
        key = ECKey.generate_key("P-256", private=True)
        self.env = dict(
            os.environ,
            BENCH_BASELINE_JWK=json.dumps(key.as_dict(private=True)),
            BENCH_BASELINE_ISSUER=self.url,
        )

    def start(self) -> None:
        cmd = [sys.executable, "-m", "granian", *GRANIAN_AS_IDP_SERVE, "--host", HOST,
               "--port", str(self.port), "tests.bench.baseline_app:app"]  # fmt: skip
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        wait_ready(f"{self.url}/.well-known/openid-configuration", self.proc, self.log)

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- node oidc-provider -----------------------------------------------------------------
class NodeOidcProvider(Server):
    name = "node-oidc-provider"
    CLIENT_ID = "bench-node-service"
    CLIENT_SECRET = "bench-node-secret-0123456789abcdefghijklmnop"

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.dir: Path | None = None
        self.log: Path | None = None
        self.version = ""

    @staticmethod
    def unavailable() -> str | None:
        if os.environ.get("BENCH_NODE", "1") == "0":
            return "BENCH_NODE=0"
        for tool in ("node", "npm"):
            if shutil.which(tool) is None:
                return f"`{tool}` is not installed (apt-get install nodejs npm)"
        return None

    def install(self) -> None:
        """`npm ci` the pinned oidc-provider into a cache dir keyed by the lock file."""
        lock = (BENCH / "node" / "package-lock.json").read_bytes()
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        self.dir = cache / "idp-bench" / f"oidc-provider-{hashlib.sha256(lock).hexdigest()[:12]}"
        marker = self.dir / "node_modules" / "oidc-provider" / "package.json"
        if not marker.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            for name in ("package.json", "package-lock.json"):
                shutil.copy(BENCH / "node" / name, self.dir / name)
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--silent"],
                cwd=self.dir,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if done.returncode != 0:
                raise ServerError(f"npm ci failed: {done.stderr[-1000:]}")
        shutil.copy(BENCH / "node" / "server.mjs", self.dir / "server.mjs")
        self.version = json.loads(marker.read_text())["version"]

    def start(self) -> None:
        assert self.dir is not None
        self.log = self.dir / "server.log"
        env = dict(
            os.environ,
            PORT=str(self.port),
            WORKERS="2",
            CLIENT_ID=self.CLIENT_ID,
            CLIENT_SECRET=self.CLIENT_SECRET,
            NODE_ENV="production",
        )
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                ["node", "server.mjs"],
                env=env, cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        wait_ready(f"{self.url}/.well-known/openid-configuration", self.proc, self.log)

    def stop(self) -> list[str]:
        problems = super().stop()
        self._kill_group()  # cluster workers, should the primary have left any
        return problems


# -- the trivial server -----------------------------------------------------------------
class Trivial(Server):
    name = "trivial"

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.trivial", str(self.port)],
            cwd=REPO,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 0.2):
                return
            time.sleep(0.02)
        raise ServerError("the trivial server did not start")
