"""Real servers for tests: Redis and PostgreSQL 15 on free loopback ports in temp dirs.

Each is started from the Debian binaries (installed by `make test` via
scripts/system-deps.sh) and stopped by its PID.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

PG_BIN = Path("/usr/lib/postgresql/15/bin")
REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class RedisServer:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="idp-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresServer:
    """A throwaway PostgreSQL 15 cluster; `initdb` refuses root, so run it as `postgres`."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="idp-pg-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            self._as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://test@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        data = self.dir / "data"
        subprocess.run(
            [
                *self._as_postgres,
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "test",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self.launch()

    def launch(self) -> PostgresServer:
        """Run the server on the existing data directory (also used to restart it)."""
        data = self.dir / "data"
        self.proc = subprocess.Popen(
            [
                *self._as_postgres,
                str(PG_BIN / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(self.dir),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, proc=self.proc)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 15
        while True:
            try:
                psycopg.connect(
                    f"host=127.0.0.1 port={self.port} user=test dbname=postgres", connect_timeout=2
                ).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=test dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            self.proc.wait(15)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# -- the reference services (population and enterprise registries, SMS gateway, face) ------
def _free_ports(count: int) -> int:
    """A base port P with P..P+count-1 free on loopback (connectors.serve_all's layout)."""
    for _ in range(50):
        base = free_port()
        if base + count > 65535:
            continue
        with ExitStack() as held:
            try:
                for port in range(base, base + count):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1")


def _answers_signed(url: str, key: bytes) -> bool:
    from connectors.errors import ConnectorError
    from connectors.http import SignedClient

    client = SignedClient(url, key, service="reference service")
    try:
        return client.call("GET", "/v1/health") == {"status": "ok"}
    except ConnectorError:
        return False
    finally:
        client.close()


def start_reference_services(
    key: bytes, key_file: Path, data_file: Path, log: IO[Any]
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """`python -m connectors.serve_all` on free ports, each answering with our key; again
    on other ports if one was taken meanwhile. Returns the process and kind -> base URL."""
    from connectors.serve_all import KINDS

    for _ in range(3):
        base = _free_ports(len(KINDS))
        urls = {kind: f"http://127.0.0.1:{base + i}" for i, kind in enumerate(KINDS)}
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "connectors.serve_all"),
                *("--key-file", str(key_file), "--data", str(data_file)),
                *("--base-port", str(base)),
            ],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: serve_all and its children
        )
        try:
            for port in range(base, base + len(KINDS)):
                wait_for_port(port, timeout=20, proc=proc)
            if all(_answers_signed(url, key) for url in urls.values()):
                return proc, urls
        except RuntimeError:  # serve_all stops when a child cannot bind its port
            pass
        except BaseException:
            stop_reference_services(proc)
            raise
        stop_reference_services(proc)
    raise RuntimeError("connectors.serve_all did not start")


def stop_reference_services(proc: subprocess.Popen[bytes], timeout: float = 15) -> list[str]:
    """SIGTERM (it stops its children); what did not go cleanly, in words."""
    if proc.poll() is not None:
        return [f"connectors.serve_all had exited with {proc.returncode}"]
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
        return [f"connectors.serve_all was still running {timeout}s after SIGTERM"]
    return []
