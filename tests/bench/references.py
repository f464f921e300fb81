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
    REFRESH_CHAINS,
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
    """node oidc-provider: discovery, JWKS, client credentials, introspection and refresh.
    None, or why skipped."""
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
        shared = protocol_specs(auth, access_token="")  # no userinfo here
        specs = {
            "discovery": shared["discovery"],
            "jwks": fixed("jwks", "GET", "/jwks", expect='"keys"'),  # node's JWKS path
            "client_credentials": shared["client_credentials"],
            **_node_token_specs(server.url, auth, wanted),
        }
        for name in wanted:
            if name in specs:
                measure(server, specs[name], BASELINE_SECONDS, results)
    finally:
        server.stop()
    emit(
        {
            "note": "node oidc-provider",
            "version": server.version,
            "node": _node_version(),
            "work": "its 2 workers share one store in the cluster primary over IPC (ours "
            "share Redis); introspection: client_secret_basic + the lookup of an opaque "
            "client-credentials token (oidc-provider refuses to introspect JWTs, so no "
            "signature is verified, where ours verifies an ES256 JWT); refresh: "
            "client_secret_basic, refresh token and grant looked up, the token consumed "
            "and a new one stored (rotation), an ES256 JWT access token and an ES256 "
            "ID token signed",
        }
    )
    return None


def _node_token_specs(base: str, auth: str, wanted: list[str]) -> dict[str, dict[str, Any]]:
    """Introspection and refresh at node, when their set-up there works; else a note
    says why and the scenario is left out (node must never fail the bench)."""
    from tests.bench import node_signin

    specs: dict[str, dict[str, Any]] = {}
    set_up_errors = (RuntimeError, OSError, ValueError, KeyError)
    if "introspection" in wanted:
        try:
            token = node_signin.opaque_access_token(base, auth)
        except set_up_errors as exc:
            _skip_node("introspection", f"no access token: {exc}")
        else:
            specs["introspection"] = fixed(
                "introspection",
                "POST",
                "/token/introspection",  # node's introspection_endpoint
                form={"token": token, "token_type_hint": "access_token"},
                headers={"Authorization": auth},
                expect='"active":true',
            )
    if "refresh" in wanted:
        try:
            tokens = node_signin.refresh_tokens(base, REFRESH_CHAINS)
        except set_up_errors as exc:
            _skip_node("refresh", f"sign-ins failed: {exc}")
        else:
            specs["refresh"] = {
                "name": "refresh",
                "kind": "refresh",
                "client_id": node_signin.WEB_CLIENT_ID,
                "client_secret": node_signin.WEB_CLIENT_SECRET,
                "tokens": tokens,
                "want_id_token": True,
            }
    return specs


def _skip_node(scenario: str, reason: str) -> None:
    say(f"node oidc-provider {scenario} skipped: {reason}")
    emit({"note": "node oidc-provider scenario skipped", "scenario": scenario, "reason": reason})


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
