"""The deployment the relying-party library tests drive: `idp serve` with a person and the
clients registered, and the openid-client RP web server (rp_node/rp.mjs) beside it."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import _environment, _idp, _serve, _stop, _wait_healthy
from tests.servers import free_port, wait_for_port

RP_NODE = Path(__file__).parent / "rp_node"
USERNAME = "e2e"
PHONE = "17000000301"
PASSWORD = "amber-kettle-harbour-2026"
SCOPES = ("openid", "profile", "phone", "offline_access")
OPENID_CLIENT_RPS = ("confidential", "es256", "public")  # the clients rp.mjs signs in with


# -- the deployment: provider, registered clients, the openid-client RP ------------------
@dataclass(frozen=True)
class Deployment:
    issuer: str
    rp_url: str  # the openid-client RP's web server
    clients: dict[str, dict[str, Any]]  # name -> `idp client create --json` output


def _install_openid_client(npm: str) -> None:
    """`npm ci` once per checkout, whichever xdist worker gets here first."""
    wanted = json.loads((RP_NODE / "package.json").read_text())["dependencies"]["openid-client"]
    installed = RP_NODE / "node_modules" / "openid-client" / "package.json"
    key = hashlib.sha256(str(RP_NODE).encode()).hexdigest()[:12]
    with (Path(tempfile.gettempdir()) / f"idp-rp-node-{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed.exists() and json.loads(installed.read_text())["version"] == wanted:
            return
        verb = "ci" if (RP_NODE / "package-lock.json").exists() else "install"
        done = subprocess.run(
            [npm, verb, "--no-audit", "--no-fund"],
            cwd=RP_NODE,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"npm {verb} failed:\n{done.stdout}{done.stderr}"


def _register(env: dict[str, str], name: str, *options: str) -> dict[str, Any]:
    scopes = [arg for scope in SCOPES for arg in ("--scope", scope)]
    out = _idp(env, "client", "create", "--name", name, *scopes, *options, "--json")
    return dict(json.loads(out))


def _register_clients(env: dict[str, str], rp_url: str) -> dict[str, dict[str, Any]]:
    def code_flow(path: str) -> tuple[str, ...]:
        return (
            *("--grant-type", "authorization_code", "--grant-type", "refresh_token"),
            *("--redirect-uri", f"{rp_url}{path}/cb"),
            *("--post-logout-redirect-uri", f"{rp_url}{path}/bye"),
        )

    # The department's API: openid-client's access tokens name it in `aud`, so it may
    # introspect them (and nobody else but the client may).
    resource_server = _register(env, "resource server", "--grant-type", "client_credentials")
    api = ("--resource-server", resource_server["client_id"])
    return {
        "confidential": _register(env, "openid-client RS256", *code_flow(""), *api),
        "es256": _register(
            env,
            "openid-client ES256",
            *code_flow(""),
            *("--id-token-signed-response-alg", "ES256"),
            *api,
        ),
        "public": _register(
            env,
            "openid-client public",
            *code_flow(""),
            *("--token-endpoint-auth-method", "none"),
            *api,
        ),
        "authlib": _register(env, "Authlib client", *code_flow("/authlib")),
        # 国密: SM2SM3 ID and access tokens (keys for it are made by `client create`)
        "authlib_sm2": _register(
            env,
            "Authlib client SM2SM3",
            *code_flow("/authlib-sm2"),
            *("--id-token-signed-response-alg", "SM2SM3"),
            *("--access-token-signed-alg", "SM2SM3"),
        ),
        "resource_server": resource_server,
    }


def _start_rp(
    node: str, issuer: str, port: int, clients: dict[str, dict[str, Any]], log: Path
) -> subprocess.Popen[bytes]:
    """rp.mjs: the openid-client RP's web server (see its header for what it answers)."""
    config = {
        "issuer": issuer,
        "port": port,
        "clients": {
            name: {
                "client_id": clients[name]["client_id"],
                "client_secret": clients[name].get("client_secret"),
                "id_token_signed_response_alg": clients[name]["id_token_signed_response_alg"],
            }
            for name in OPENID_CLIENT_RPS
        },
        "resource_server": {
            "client_id": clients["resource_server"]["client_id"],
            "client_secret": clients["resource_server"]["client_secret"],
        },
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [node, "rp.mjs"],
            env={**os.environ, "RP_CONFIG": json.dumps(config)},
            cwd=RP_NODE,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop_rp(proc: subprocess.Popen[bytes], log: Path) -> list[str]:
    if proc.poll() is not None:
        return [f"rp.mjs exited early with {proc.returncode}:\n{log.read_text(errors='replace')}"]
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    return []


@contextmanager
def running_deployment() -> Iterator[Deployment]:
    """The provider (`idp serve --workers 2`), its registered clients and rp.mjs; skips
    the tests when node and npm are missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed (apt-get install nodejs npm)")
    _install_openid_client(npm)

    tmp = Path(tempfile.mkdtemp(prefix="idp-"))  # short: the embedded Redis has a unix socket
    port, rp_port = free_port(), free_port()
    env = _environment(tmp, port)
    issuer, rp_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{rp_port}"
    serve_log, rp_log = tmp / "serve.log", tmp / "rp.log"
    serve: subprocess.Popen[bytes] | None = None
    rp: subprocess.Popen[bytes] | None = None
    problems: list[str] = []
    try:
        _idp(env, "db", "upgrade")
        person = ("--username", USERNAME, "--phone", PHONE, "--password", PASSWORD)
        assert json.loads(_idp(env, "person", "create", *person, "--json"))["ok"]
        serve = _serve(env, port, serve_log)
        clients = _register_clients(env, rp_url)  # while the server starts
        rp = _start_rp(node, issuer, rp_port, clients, rp_log)
        try:
            wait_for_port(port, timeout=30, proc=serve)
            _wait_healthy(issuer, serve)
            wait_for_port(rp_port, timeout=15, proc=rp)
        except (RuntimeError, TimeoutError) as exc:
            logs = serve_log.read_text(errors="replace") + rp_log.read_text(errors="replace")
            raise RuntimeError(f"{exc}\n{logs}") from None
        yield Deployment(issuer=issuer, rp_url=rp_url, clients=clients)
    finally:
        if rp is not None:
            problems += _stop_rp(rp, rp_log)
        if serve is not None:
            problems += _stop(serve, tmp / "instance")
        output = serve_log.read_text(errors="replace") if serve_log.exists() else ""
        shutil.rmtree(tmp, ignore_errors=True)
    assert not problems, "; ".join(problems) + f"\n{output}"
