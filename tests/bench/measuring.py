"""How `make bench` measures: its settings (from BENCH_* variables), one measured run per
concurrency, and the requests the provider and its baselines share."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from tests.bench.loadgen import run_load
from tests.bench.servers import HOST, Server


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


SECONDS = env_float("BENCH_SECONDS", 5)
BASELINE_SECONDS = env_float("BENCH_BASELINE_SECONDS", 3)
MAX_REQUESTS = env_int("BENCH_MAX_REQUESTS", 200_000)
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,8,32").split(",")]
# refresh-token chains per refresh scenario: one per virtual user at the highest concurrency
REFRESH_CHAINS = max([*CONCURRENCY, 8])
PROCS = env_int("BENCH_CLIENT_PROCS", 2)
WARMUP_SECONDS = min(0.5, SECONDS / 5)
CORES = os.cpu_count() or 1


def emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# -- measuring --------------------------------------------------------------------------
def measure(
    server: Server,
    spec: dict[str, Any],
    seconds: float,
    results: list[dict[str, Any]],
    *,
    concurrency: list[int] = CONCURRENCY,
) -> None:
    """Warm up, then run `spec` at each concurrency; print and keep one line each."""
    spec = {"host": HOST, "port": server.port, **spec}  # type: ignore[attr-defined]
    warm = run_load(
        spec, concurrency=8, seconds=WARMUP_SECONDS, max_requests=MAX_REQUESTS, procs=PROCS
    )
    _carry_state(spec, warm)
    if warm["line"]["errors"]:
        say(f"{server.name} {spec['name']} warm-up errors: {warm['samples']}")
    for c in concurrency:
        out = run_load(
            spec,
            concurrency=c,
            seconds=seconds,
            max_requests=MAX_REQUESTS,
            procs=PROCS,
            cpu_probe=server.cpu,
        )
        _carry_state(spec, out)
        line = {"server": server.name, **out["line"]}
        if out["samples"]:
            line["error_samples"] = out["samples"][:3]
        emit(line)
        results.append(line)


def _carry_state(spec: dict[str, Any], out: dict[str, Any]) -> None:
    """Refresh tokens rotate: the next run continues each virtual user's chain."""
    for index, token in out["state"].items():
        spec["tokens"][index] = token


def fixed(name: str, method: str, path: str, **options: Any) -> dict[str, Any]:
    return {"name": name, "kind": "fixed", "method": method, "path": path, **options}


def protocol_specs(auth: str, access_token: str) -> dict[str, dict[str, Any]]:
    """The same requests for the provider and its baselines: discovery, JWKS, a client
    credentials grant, and introspection and userinfo of `access_token`."""
    return {
        "discovery": fixed(
            "discovery", "GET", "/.well-known/openid-configuration", expect='"issuer"'
        ),
        "jwks": fixed("jwks", "GET", "/.well-known/jwks.json", expect='"keys"'),
        "client_credentials": fixed(
            "client_credentials",
            "POST",
            "/token",
            form={"grant_type": "client_credentials", "scope": "api"},
            headers={"Authorization": auth},
            expect='"access_token"',
        ),
        "introspection": fixed(
            "introspection",
            "POST",
            "/introspect",
            form={"token": access_token, "token_type_hint": "access_token"},
            headers={"Authorization": auth},
            expect='"active": true',
        ),
        "userinfo": fixed(
            "userinfo",
            "GET",
            "/userinfo",
            headers={"Authorization": f"Bearer {access_token}"},
            expect='"sub"',
        ),
    }
