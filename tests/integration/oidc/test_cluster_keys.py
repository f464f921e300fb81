"""The provider's Redis commands run on Redis Cluster: every command that names several keys
names keys of one hash slot, no script reaches a key it was not given, and every key
has a TTL.

The app talks to a real Redis 7 started in cluster mode (one node holding all 16384
slots) through redis-py's cluster client (`redis+cluster://`); both refuse a command or
a declared script whose keys span slots. Every
command is also recorded on its way out and checked here with redis-py's own slot
function, and every script is sent with a `#!lua` line, which makes Redis 7 refuse a
script that reaches an undeclared key of another slot too (scripts without it keep
Redis 6's leniency).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.connection import AbstractConnection
from redis.crc import key_slot

from tests.helpers import sign_in
from tests.integration.oidc.conftest import redeem
from tests.integration.test_register import register as register_by_sms
from tests.servers import free_port, wait_for_port

SCRIPT_LOAD = ("SCRIPT LOAD", "SCRIPT")


class ClusterNode:
    """redis-server 7 with cluster mode on, one node serving every slot."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="idp-cluster-"))
        self.port = free_port()
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [
                exe,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.dir)),
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                *("--cluster-port", str(free_port())),  # not port + 10000: may be taken
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, proc=self.proc)
        self.client = redis.Redis(port=self.port)
        self.client.execute_command("CLUSTER ADDSLOTSRANGE", 0, 16383)
        deadline = time.monotonic() + 15
        while self.client.cluster("info")["cluster_state"] != "ok":
            assert time.monotonic() < deadline, "the cluster node did not come up"
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterNode]:
    node = ClusterNode()
    yield node
    node.stop()


class Commands:
    """Every command any Redis client of this process sends, scripts marked `#!lua`."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        send, pack = AbstractConnection.send_command, AbstractConnection.pack_commands

        def send_command(connection: Any, *args: Any, **options: Any) -> Any:
            return send(connection, *self.seen(args), **options)

        def pack_commands(connection: Any, commands: Sequence[Sequence[Any]]) -> Any:
            return pack(connection, [self.seen(tuple(c)) for c in commands])

        monkeypatch.setattr(AbstractConnection, "send_command", send_command)
        monkeypatch.setattr(AbstractConnection, "pack_commands", pack_commands)

    def seen(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        self.sent.append(args)
        if str(args[0]).upper() in SCRIPT_LOAD:
            *head, source = args
            return (*head, "#!lua\n" + _text(source))
        return args

    def with_keys(self) -> list[tuple[str, list[bytes]]]:
        """(command, its keys) for each command that can name several keys."""
        found = []
        for args in self.sent:
            name = str(args[0]).upper()
            if name in ("MGET", "DEL", "UNLINK", "EXISTS", "TOUCH", "WATCH"):
                keys = args[1:]
            elif name == "MSET":
                keys = args[1::2]
            elif name in ("EVAL", "EVALSHA", "FCALL"):
                keys = args[3 : 3 + int(args[2])]
            else:
                continue
            found.append((name, [_bytes(k) for k in keys]))
        return found


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> Commands:
    recorder = Commands()
    recorder.install(monkeypatch)
    return recorder


@pytest.fixture
def app(make_app: Callable[..., Any], cluster: ClusterNode) -> Any:
    cluster.client.flushall()
    cluster.client.script_flush()  # every script is loaded again, with its #!lua line
    return make_app(redis_url=cluster.url, login_max_failures=3)


def test_sign_in_tokens_throttling_and_sms_codes_run_on_a_cluster(
    app, browser, rp, commands, cluster
):
    assert app.extensions["idp.store"].cluster  # redis-py's cluster client
    client = app.test_client()
    # throttling: an account blocked after three failures
    for _ in range(3):
        assert sign_in(client, "ghost", "wrong-password").status_code == 303
    assert sign_in(client, "ghost", "wrong-password").status_code == 429
    # sign-in, a code, its tokens
    code, verifier = browser.code_for(rp, scope="openid offline_access")
    tokens = redeem(client, rp, code, verifier).json
    assert "refresh_token" in tokens, tokens
    # the code again: refused, and its grant revoked
    assert redeem(client, rp, code, verifier).status_code == 400
    assert introspect(client, rp, tokens["access_token"])["active"] is False
    # a fresh family: refresh, reuse of the spent token, revocation
    code, verifier = browser.code_for(rp, scope="openid offline_access")
    tokens = redeem(client, rp, code, verifier).json
    assert introspect(client, rp, tokens["access_token"])["active"] is True
    refreshed = refresh(client, rp, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.json
    assert refresh(client, rp, tokens["refresh_token"]).status_code == 400  # reuse
    assert introspect(client, rp, refreshed.json["refresh_token"])["active"] is False
    code, verifier = browser.code_for(rp, scope="openid offline_access")
    tokens = redeem(client, rp, code, verifier).json
    revoke(client, rp, tokens["access_token"])
    assert introspect(client, rp, tokens["access_token"])["active"] is False
    revoke(client, rp, tokens["refresh_token"])
    assert introspect(client, rp, tokens["refresh_token"])["active"] is False
    # an SMS code: registration
    assert register_by_sms(app, app.test_client(), "17000000455").status_code == 303
    # sign-out ends the session and its grants
    code, verifier = browser.code_for(rp, scope="openid")
    tokens = redeem(client, rp, code, verifier).json
    logout = browser.client.post("/logout", data={"csrf_token": csrf(browser.client)})
    assert logout.status_code in (200, 303)
    assert introspect(client, rp, tokens["access_token"])["active"] is False

    several = [(name, keys) for name, keys in commands.with_keys() if len(keys) > 1]
    assert len(several) >= 10  # guesses, throttle, sessions, grants, refresh: not vacuous
    assert any(str(args[0]).upper() in SCRIPT_LOAD for args in commands.sent)
    for name, keys in several:
        assert len({key_slot(k) for k in keys}) == 1, (name, keys)
    for key in cluster.client.scan_iter("*"):
        assert key.startswith(b"idp:"), key
        assert cluster.client.ttl(key) > 0, key


def introspect(client: Any, rp: Any, token: str) -> dict[str, Any]:
    return dict(client.post("/introspect", headers=rp.basic, data={"token": token}).json)


def refresh(client: Any, rp: Any, token: str) -> Any:
    data = {"grant_type": "refresh_token", "refresh_token": token}
    return client.post("/token", headers=rp.basic, data=data)


def revoke(client: Any, rp: Any, token: str) -> None:
    assert client.post("/revoke", headers=rp.basic, data={"token": token}).status_code == 200


def csrf(client: Any) -> str:
    from tests.helpers import csrf_token

    return csrf_token(client, "/logout")
