"""The `device_poll` scenario of `make bench`: kiosks polling /token with device codes
nobody has answered yet (RFC 8628, urn:ietf:params:oauth:grant-type:device_code), each
at its interval, as a fleet of kiosks showing their codes does.

Each poll authenticates the kiosk's client, counts the poll against the code's interval
in one Redis step and reads the code's approval: the answer is `authorization_pending`.
A code polled again sooner than its interval would get `slow_down` instead (a different,
cheaper answer), so the set-up asks for a pool of codes, and the virtual users walk
through it: virtual user i of c polls codes start+i, start+i+c, ...; each run starts
where the last one stopped, so a code is polled again only after the whole pool went by
(BENCH_DEVICE_CODES codes; a `slow_down` is counted as an error and says the pool is too
small for the rate). The summary gives the rate per core against client credentials
measured in the same run.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from tests.bench.client import Connection, RequestBuilder, basic_auth
from tests.bench.loadgen import run_load
from tests.bench.measuring import (
    CONCURRENCY,
    MAX_REQUESTS,
    PROCS,
    SECONDS,
    WARMUP_SECONDS,
    emit,
    env_int,
    say,
)
from tests.bench.scenarios import KINDS, Scenario, VirtualUser
from tests.bench.servers import HOST, Idp, ServerError

NAME = "device_poll"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Polled 5 s apart, 30,000 codes serve 6,000 polls/s (two shared cores here reach about
# 3,000); asking for them takes about 40 s (each request is a transaction, an approval, a
# code and an audit row). With 8,000 the pool wrapped within 5 s at 8 and 32 virtual
# users, and every poll was a slow_down. A faster machine needs more: see the errors.
POOL = env_int("BENCH_DEVICE_CODES", 30_000)
PENDING = b'"authorization_pending"'


# -- one kiosk's polls ---------------------------------------------------------------------
class _PollingUser(VirtualUser):
    def __init__(self, scenario: DevicePolling, index: int) -> None:
        self.scenario, self.index, self.polls = scenario, index, 0

    async def step(self, conn: Connection) -> str | None:
        s = self.scenario
        position = (s.start + self.index + self.polls * s.concurrency) % len(s.codes)
        self.polls += 1
        raw = s.http.build(
            "POST",
            "/token",
            form={"grant_type": DEVICE_GRANT, "device_code": s.codes[position]},
            headers={"Authorization": s.auth},
        )
        response = await conn.request(raw)
        if response.status == 400 and PENDING in response.body:
            return None
        if b'"slow_down"' in response.body:
            return "slow_down: the pool of device codes is too small for this rate"
        return f"HTTP {response.status}: {response.body[:200]!r}"


class DevicePolling(Scenario):
    """spec: auth, codes, start (where this run begins in them), concurrency."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__(spec)
        self.auth, self.codes = spec["auth"], spec["codes"]
        self.start, self.concurrency = spec["start"], spec["concurrency"]
        self.users: dict[int, _PollingUser] = {}

    def virtual_user(self, index: int) -> VirtualUser:
        self.users[index] = _PollingUser(self, index)
        return self.users[index]

    def state(self) -> dict[int, Any]:
        """How far each virtual user went (the next run starts after the farthest)."""
        return {i: user.polls for i, user in self.users.items()}


KINDS[NAME] = DevicePolling  # the load processes are forked after this import


# -- the set-up ------------------------------------------------------------------------------
async def _ask_for_codes(idp: Idp, auth: str, count: int) -> list[str]:
    http = RequestBuilder(HOST, idp.port)
    raw = http.build(
        "POST", "/device_authorization", form={"scope": "openid"}, headers={"Authorization": auth}
    )
    codes: list[str] = []

    async def worker(n: int) -> None:
        conn = Connection(HOST, idp.port)
        for _ in range(n):
            response = await conn.request(raw)
            if response.status != 200:
                raise ServerError(f"device authorization refused: {response.body[:200]!r}")
            codes.append(json.loads(response.body)["device_code"])
        conn.close()

    await asyncio.gather(*(worker(count // 8 + (i < count % 8)) for i in range(8)))
    return codes


def bench_device_poll(idp: Idp, results: list[dict[str, Any]]) -> None:
    """Register a kiosk client, ask for the pool of codes (they live ten minutes), then
    measure the polling at each concurrency."""
    kiosk = json.loads(
        idp._idp(
            "client", "create", "--name", "bench-kiosk", "--channel", "kiosk",
            "--grant-type", DEVICE_GRANT, "--scope", "openid", "--json",
        )
    )  # fmt: skip
    auth = basic_auth(kiosk["client_id"], kiosk["client_secret"])
    began = time.monotonic()
    codes = asyncio.run(_ask_for_codes(idp, auth, POOL))
    say(f"{len(codes)} device codes in {time.monotonic() - began:.1f}s")
    spec: dict[str, Any] = {
        "name": NAME, "kind": NAME, "host": HOST, "port": idp.port, "auth": auth,
        "codes": codes, "start": 0,
    }  # fmt: skip
    _run(spec, 8, WARMUP_SECONDS, idp, keep=None)
    for concurrency in CONCURRENCY:
        _run(spec, concurrency, SECONDS, idp, keep=results)


def _run(
    spec: dict[str, Any],
    concurrency: int,
    seconds: float,
    idp: Idp,
    keep: list[dict[str, Any]] | None,
) -> None:
    spec["concurrency"] = concurrency
    out = run_load(
        spec,
        concurrency=concurrency,
        seconds=seconds,
        max_requests=MAX_REQUESTS,
        procs=PROCS,
        cpu_probe=idp.cpu if keep is not None else None,
    )
    farthest = max(out["state"].values(), default=0)
    spec["start"] = (spec["start"] + concurrency * (farthest + 1)) % len(spec["codes"])
    if keep is None:
        if out["line"]["errors"]:
            say(f"{NAME} warm-up errors: {out['samples']}")
        return
    line = {"server": idp.name, **out["line"], "pool": len(spec["codes"])}
    if out["samples"]:
        line["error_samples"] = out["samples"][:3]
    emit(line)
    keep.append(line)


def summarise(scenarios: dict[str, Any]) -> None:
    """Polling against client credentials, both per core in the same run."""
    if NAME in scenarios and "client_credentials" in scenarios:
        ours, theirs = scenarios[NAME]["per_core"], scenarios["client_credentials"]["per_core"]
        scenarios[NAME]["client_credentials_per_core"] = theirs
        scenarios[NAME]["ratio_vs_client_credentials"] = round(ours / max(theirs, 1), 3)
