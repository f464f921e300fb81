"""The running provider a key-rotation run acts on (tests/bench/rotation.py): where it is
(`Target`), its `idp` CLI as an operator runs it, the relying parties' clients, and the
sign-ins that give the load its refresh tokens."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.bench.client import Connection, RequestBuilder
from tests.bench.scenarios import sign_in
from tests.bench.servers import HOST, IDP, REPO

ALGS = ("ES256", "RS256", "SM2SM3")  # rotated in turn, one every R / 3 seconds
# The operator's command gets a higher CPU priority (when allowed): on cores saturated by
# the load it would wait several seconds for a CPU. It makes the run shorter, not easier:
# the schedule's guarantee counts from the moment each command has ended.
OPERATOR_NICE = -20


@dataclass(frozen=True)
class Target:
    """A running provider: its issuer, the environment its `idp` CLI needs (instance
    directory), a person who can sign in, the code + refresh clients that carry the load,
    by algorithm (default: the RPs' own ES256 and SM2SM3 clients, other chains), and the
    RPs' clients if already registered (`register_rp_clients`)."""

    issuer: str
    env: dict[str, str]
    username: str
    password: str
    redirect_uri: str
    load_clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    rp_clients: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(urlsplit(self.issuer).port or 80)


def cli(env: dict[str, str], *args: str, urgent: bool = False) -> dict[str, Any]:
    """`idp ... --json` as an operator runs it; its JSON answer."""
    command = [str(IDP), *args, "--json"]
    with subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        if urgent:
            with contextlib.suppress(OSError):  # not permitted: it runs as it is
                os.setpriority(os.PRIO_PROCESS, proc.pid, OPERATOR_NICE)
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    if proc.returncode != 0:
        raise RuntimeError(f"idp {' '.join(args)} failed:\n{out}{err}")
    return dict(json.loads(out))


def register_rp_clients(target: Target) -> dict[str, dict[str, Any]]:
    """One confidential web app per algorithm (ID and access tokens of it): code +
    refresh for its users, client credentials for its back end."""
    options = [
        *("--first-party", "--redirect-uri", target.redirect_uri),
        *(a for s in ("openid", "profile", "offline_access", "api") for a in ("--scope", s)),
        *(a for g in ("authorization_code", "refresh_token", "client_credentials")
          for a in ("--grant-type", g)),
    ]  # fmt: skip

    def register(alg: str) -> dict[str, Any]:
        algs = ("--id-token-signed-response-alg", alg, "--access-token-signed-alg", alg)
        return cli(target.env, "client", "create", "--name", f"rotation RP {alg}", *options, *algs)

    with ThreadPoolExecutor(len(ALGS)) as pool:
        return dict(zip(ALGS, pool.map(register, ALGS), strict=True))


def sign_ins(target: Target, client: dict[str, Any], count: int) -> list[str]:
    """`count` refresh tokens, each from its own sign-in (the bench's sign-in)."""
    spec = {
        "client_id": client["client_id"], "client_secret": client["client_secret"],
        "redirect_uri": target.redirect_uri, "username": target.username,
        "password": target.password, "scope": "openid profile offline_access",
    }  # fmt: skip

    async def one() -> str:
        conn = Connection(HOST, target.port)
        try:
            tokens, problem, _ = await sign_in(conn, RequestBuilder(HOST, target.port), spec)
        finally:
            conn.close()
        if tokens is None:
            raise RuntimeError(f"set-up sign-in failed: {problem}")
        return str(tokens["refresh_token"])

    async def all_of() -> list[str]:
        return list(await asyncio.gather(*(one() for _ in range(count))))

    # In a thread of its own: the caller may already run an event loop (pytest after
    # Playwright's sync API, in the same xdist worker), where asyncio.run refuses.
    with ThreadPoolExecutor(1) as runner:
        return runner.submit(asyncio.run, all_of()).result()
