"""The servers `make bench` compares the provider with, measured in the same run: a
minimal Flask app doing the same essential work (tests/bench/baseline_app.py), node
oidc-provider 9.13, and a server that does nothing (the load generator's ceiling)."""

from __future__ import annotations

import json
from typing import Any

from tests.bench.client import basic_auth
from tests.bench.loadgen import run_load
from tests.bench.measuring import (
    BASELINE_SECONDS,
    MAX_REQUESTS,
    PROCS,
    SECONDS,
    emit,
    fixed,
    measure,
    protocol_specs,
    say,
)
from tests.bench.servers import HOST, Baseline, NodeOidcProvider, ServerError, Trivial


def bench_baseline(results: list[dict[str, Any]], wanted: list[str]) -> None:
    import urllib.request

    from tests.bench import baseline_app as app

    server = Baseline()
    try:
        server.start()
        say(f"baseline (minimal Flask, same granian settings) ready at {server.url}")
        emit(
            {
                "note": "baseline-flask: tests/bench/baseline_app.py under granian with `idp "
                "serve --workers 2`'s settings; the same essential work without storage: "
                "client_credentials = SHA-256 client secret check + one ES256 JWT; refresh = "
                "that + an ES256 ID token; introspection/userinfo = one ES256 verification; "
                "signin = one argon2id verification (t=2, m=19456 KiB, p=1) + one ES256 JWT"
            }
        )
        auth = basic_auth(app.CLIENT_ID, app.CLIENT_SECRET)
        request = urllib.request.Request(
            f"{server.url}/token",
            data=b"grant_type=client_credentials&scope=api",
            headers={"Authorization": auth},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            access_token = json.loads(response.read())["access_token"]
        specs = {
            **protocol_specs(auth, access_token),
            "refresh": fixed(
                "refresh",
                "POST",
                "/token",
                form={"grant_type": "refresh_token", "refresh_token": "x" * 43},
                headers={"Authorization": auth},
                expect='"id_token"',
            ),
            # the floor of a sign-in: one argon2id verification and one ES256 signature
            "signin": fixed(
                "signin", "POST", "/login", form={"password": app.PASSWORD}, expect='"id_token"'
            ),
        }
        for name in wanted:
            if name in specs:
                measure(server, specs[name], BASELINE_SECONDS, results)
    finally:
        server.stop()
        server.cleanup()


def bench_node(results: list[dict[str, Any]], wanted: list[str]) -> str | None:
    """node oidc-provider: client credentials, discovery and JWKS. None, or why skipped."""
    reason = NodeOidcProvider.unavailable()
    if reason:
        return reason
    server = NodeOidcProvider()
    try:
        server.install()
        server.start()
    except (ServerError, OSError, TimeoutError) as exc:
        server.stop()
        return f"could not install or start it: {exc}"[:500]
    say(f"node oidc-provider {server.version} (2 cluster workers) ready at {server.url}")
    try:
        auth = basic_auth(server.CLIENT_ID, server.CLIENT_SECRET)
        shared = protocol_specs(auth, access_token="")  # no introspection or userinfo here
        specs = {
            "discovery": shared["discovery"],
            "jwks": fixed("jwks", "GET", "/jwks", expect='"keys"'),  # node's JWKS path
            "client_credentials": shared["client_credentials"],
        }
        for name in wanted:
            if name in specs:
                measure(server, specs[name], BASELINE_SECONDS, results)
    finally:
        server.stop()
    emit({"note": "node oidc-provider", "version": server.version, "node": _node_version()})
    return None


def _node_version() -> str:
    import subprocess

    try:
        return subprocess.run(
            ["node", "--version"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except OSError:
        return "?"


def generator_ceiling(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The generator against a server that does (almost) nothing."""
    server = Trivial()
    server.start()
    try:
        spec = {"host": HOST, "port": server.port, **fixed("trivial_get", "GET", "/")}
        best: dict[str, Any] = {}
        for procs in sorted({1, PROCS}):
            out = run_load(
                spec,
                concurrency=32,
                seconds=min(SECONDS, 2),
                max_requests=MAX_REQUESTS,
                procs=procs,
                cpu_probe=server.cpu,
            )
            line = {"server": "trivial", "client_procs": procs, **out["line"]}
            emit(line)
            results.append(line)
            if line["rate"] > best.get("rate", 0):
                best = line
        cpu_per_request = best["client_cpu_s"] / max(best["requests"], 1)
        return {
            "rate_vs_trivial_server": best["rate"],
            "client_procs": best["client_procs"],
            "client_cpu_us_per_request": round(cpu_per_request * 1e6, 1),
            "ceiling_per_client_core": round(1 / cpu_per_request) if cpu_per_request else None,
        }
    finally:
        server.stop()
