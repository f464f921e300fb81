"""Key rotation under load: the real `idp keys rotate` runs every few seconds while the
bench's refresh load runs, and strict relying parties alongside validate every token.

Issue acceptance: "rotate while `make bench` runs; zero failed validations by the RP test
that runs alongside". `run_rotation(target, ...)` does it against a running provider
(`make bench` scenario `rotation`, tests/e2e/test_rotation_under_load.py). Alone,

    python -m tests.bench.rotation [--seconds 20] [--interval 7] [--naive]

sets up a throwaway provider as the bench does and prints the same JSON line.

Why a strict RP never meets an unknown kid. For one algorithm, rotation k (committed at
C_k) makes active the key that rotation k-1 published as `next` (at C_k-1). Each worker
of `idp serve` re-reads the keys at most every PROVIDER_RELOAD seconds, so from C_k one
worker may sign with the new key while another still serves a JWKS read up to
PROVIDER_RELOAD earlier. An RP validating at v >= C_k with a JWKS fetched at F >= v - M
(M: its cache max-age) holds the key when F - PROVIDER_RELOAD >= C_k-1, that is when
C_k - C_k-1 >= M + PROVIDER_RELOAD. The rotator keeps two rotations of one algorithm at
least R (`interval`) apart, from the end of one command to the start of the next, so
an RP with M = R - PROVIDER_RELOAD - SAFETY always holds the key that signs: the next
key was published one rotation ahead. Without a next key (a fresh key made active at
once) a cache older than the rotation misses it, and even an RP that fetched the JWKS a
moment ago can miss it while the workers disagree. `naive=True` gives the RP M = 2R:
its JWKS can predate the publication of the key that signs, and it fails.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests
from joserfc.errors import JoseError

from tests.bench.loadgen import run_load
from tests.bench.rotation_setup import ALGS, Target, cli, register_rp_clients, sign_ins
from tests.bench.servers import HOST, Idp
from tests.bench.strict_rp import Stats, StrictRp, Validator, introspect

LOAD = {"ES256": "refresh", "SM2SM3": "refresh_sm2"}  # the bench's scenarios, by algorithm
PROVIDER_RELOAD = 5.0  # KeyRing(refresh_seconds=5.0) in each `idp serve` worker
SAFETY = 1.0  # seconds for the rest: a reload's own duration, the answer's way to the RP


# -- the rotator and the load -----------------------------------------------------------
class Rotator(threading.Thread):
    """`idp keys rotate --alg X --json` every R / 3 seconds, cycling ALGS, but never
    sooner than R after the same algorithm's previous rotation ended (see the module
    docstring). Starts no rotation once `enough()` is true."""

    def __init__(
        self, env: dict[str, str], interval: float, enough: Callable[[], bool],
        stop: threading.Event,
    ) -> None:  # fmt: skip
        super().__init__(name="rotator", daemon=True)
        self.env, self.interval, self.enough, self.stop = env, interval, enough, stop
        self.lock = threading.Lock()  # `busy` and `finished` change under it
        self.busy = self.finished = False
        self.done: list[dict[str, Any]] = []
        self.ended: dict[str, float] = {}  # alg -> when its last rotation ended
        self.failed: list[str] = []

    def count(self, alg: str) -> int:
        return sum(1 for r in self.done if r["alg"] == alg)

    def settled(self) -> bool:
        """No rotation is running and none will start."""
        with self.lock:
            return self.finished or (not self.busy and self.enough())

    def run(self) -> None:
        started = due = time.monotonic()
        # The next keys there already are were published when they were made (at set-up,
        # say): the first rotation of each algorithm keeps R from that moment too.
        for key in cli(self.env, "keys", "list", urgent=True)["keys"]:
            if key["state"] == "next":
                self.ended[key["alg"]] = started - (time.time() - _epoch(key["created_at"]))
        for turn in itertools.count():
            alg = ALGS[turn % len(ALGS)]
            due = max(due, self.ended.get(alg, float("-inf")) + self.interval)
            self.stop.wait(max(0.0, due - time.monotonic()))
            with self.lock:
                if self.stop.is_set() or self.enough() or self.failed:
                    self.finished = True
                    return
                self.busy = True
            began = time.monotonic()
            try:
                kid = cli(self.env, "keys", "rotate", "--alg", alg, urgent=True)["kid"]
            except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
                self.failed.append(f"{alg}: {exc}"[:500])
            else:
                self.ended[alg] = time.monotonic()
                at, took = round(began - started, 1), round(self.ended[alg] - began, 1)
                self.done.append({"alg": alg, "kid": kid, "at_s": at, "cli_s": took})
            finally:
                with self.lock:
                    self.busy = False
            due = began + self.interval / len(ALGS)


def _load(spec: dict[str, Any], vus: int, stop: threading.Event, out: dict[str, Any]) -> None:
    """The bench's load generator in runs of 3 s (so that the scenario can end when the
    rotations are done) until `stop`, each refresh chain carried on."""
    totals = {"requests": 0, "errors": 0, "seconds": 0.0, "p99_ms": 0.0}
    samples: list[str] = []
    while not stop.is_set():
        done = run_load(spec, concurrency=vus, seconds=3, max_requests=10**7, procs=1)
        for index, token in done["state"].items():
            spec["tokens"][index] = token
        for key in ("requests", "errors", "seconds"):
            totals[key] += done["line"][key]
        totals["p99_ms"] = max(totals["p99_ms"], done["line"]["p99_ms"])
        samples += done["samples"][: 3 - len(samples)]
    ok, seconds = totals["requests"] - totals["errors"], totals["seconds"]
    out[spec["name"]] = {
        "concurrency": vus,
        "rate": round(ok / seconds, 1) if seconds else 0.0,
        **{key: round(value, 2) for key, value in totals.items()},
        "error_samples": samples,
    }


def _refresh_spec(
    target: Target, alg: str, client: dict[str, Any], tokens: list[str]
) -> dict[str, Any]:
    """The bench's refresh scenario (`refresh`, `refresh_sm2` in tests/bench/run.py)."""
    return {
        "name": LOAD[alg],
        "kind": "refresh", "host": HOST, "port": target.port, "want_id_token": True,
        "client_id": client["client_id"], "client_secret": client["client_secret"],
        "tokens": tokens,
    }  # fmt: skip


# -- the run ----------------------------------------------------------------------------
def run_rotation(
    target: Target,
    *,
    seconds: float,
    interval: float = 7.0,
    naive: bool = False,
    rp_max_age: float | None = None,
    min_rotations: int = 1,
    max_seconds: float | None = None,
    tail: float = PROVIDER_RELOAD + SAFETY,
    concurrency: int = 8,
    rps_per_alg: int = 2,
    introspect_every: int = 5,
) -> dict[str, Any]:
    """Load, rotations and strict RPs together for at least `seconds`, until each
    algorithm was rotated `min_rotations` times and `tail` seconds have passed since the
    last rotation (its key signs meanwhile); at most `max_seconds` (default: 60 more).
    Returns the report."""
    max_age = 2 * interval if naive else interval - PROVIDER_RELOAD - SAFETY
    if rp_max_age is not None:  # an experiment: any other cache lifetime
        max_age, naive = rp_max_age, rp_max_age > interval - PROVIDER_RELOAD - SAFETY
    if max_age <= 0:
        raise ValueError(f"the interval must exceed {PROVIDER_RELOAD + SAFETY} s (docstring)")
    limit = max(seconds + 60 if max_seconds is None else max_seconds, seconds)
    set_up = time.monotonic()
    clients = target.rp_clients or register_rp_clients(target)
    load_clients = target.load_clients or {alg: clients[alg] for alg in LOAD}
    specs = [
        _refresh_spec(target, alg, client, sign_ins(target, client, concurrency))
        for alg, client in load_clients.items()
    ]
    chains = {alg: sign_ins(target, clients[alg], rps_per_alg) for alg in ALGS}
    stats, stop, load = Stats(), threading.Event(), dict[str, Any]()
    started = time.monotonic()

    def enough() -> bool:
        elapsed = time.monotonic() - started
        rotated = all(rotator.count(alg) >= min_rotations for alg in ALGS)
        return elapsed >= limit - tail or (rotated and elapsed >= seconds - tail)

    # The load's processes are forked (again every 3 s) while the RPs' threads run: they
    # run only the load generator's own asyncio code, never touching the RPs' locks.
    loaders = [
        threading.Thread(target=_load, args=(spec, concurrency, stop, load), daemon=True)
        for spec in specs
    ]
    rps = [
        StrictRp(target, alg, clients[alg], token, max_age, stats, stop, introspect_every)
        for alg in ALGS
        for token in chains[alg]
    ]
    rotator = Rotator(target.env, interval, enough, stop)
    try:
        for thread in [*loaders, *rps, rotator]:
            thread.start()
        while (elapsed := time.monotonic() - started) < limit:
            last = max(rotator.ended.values(), default=started)
            if elapsed >= seconds and rotator.settled() and time.monotonic() - last >= tail:
                break
            time.sleep(0.2)
    finally:
        stop.set()
    for thread in [rotator, *rps]:
        thread.join(60)
    report = {
        "scenario": "rotation", "mode": "naive" if naive else "strict",
        "setup_s": round(started - set_up, 1), "seconds": round(elapsed, 1),
        "rotation_interval_per_alg_s": interval, "rp_jwks_max_age_s": max_age,
        **_report(target, stats, rotator),  # while the load's last short run ends
    }  # fmt: skip
    for thread in loaders:
        thread.join(60)
    load_errors = sum(v["errors"] for v in load.values())
    report.update(load=load, load_errors=load_errors, ok=report["ok"] and not load_errors)
    return report


def _report(target: Target, stats: Stats, rotator: Rotator) -> dict[str, Any]:
    """What the RPs saw, what the rotator did and the keys' final states."""
    keys = cli(target.env, "keys", "list", urgent=True)["keys"]
    alg_of, signed = {k["kid"]: k["alg"] for k in keys}, stats.signed_by
    rotated = {r["kid"] for r in rotator.done}
    # how long each key rotated in had been published before it signed: >= M + reload
    lead: dict[str, float] = {}
    for k in keys:
        if k["kid"] in rotated:
            published = _epoch(k["activated_at"]) - _epoch(k["created_at"])
            lead[k["alg"]] = round(min(lead.get(k["alg"], published), published), 1)
    retiring = _retiring_still_verify(target, stats, keys)
    seen = {
        alg: {
            "rotated_in": rotator.count(alg),
            "rotated_in_seen": sum(1 for kid in rotated if alg_of[kid] == alg and signed[kid]),
            "all": sum(1 for kid in signed if alg_of.get(kid) == alg),
        }
        for alg in ALGS
    }
    failed = sum(stats.failures.values())
    return {
        "rotations": {alg: rotator.count(alg) for alg in ALGS},
        "rotation_log": [[r["alg"], r["at_s"], r["cli_s"]] for r in rotator.done],
        "rotation_failures": rotator.failed,
        "next_key_min_lead_s": lead,
        "validated": {alg: dict(stats.validated[alg]) for alg in ALGS},
        "keys_seen_signing": seen,
        "failed_validations": failed,
        "failures_by_alg": dict(stats.failures),
        "failure_samples": stats.failure_samples,
        "rp_request_errors": len(stats.errors),
        "rp_error_samples": stats.errors[:5],
        "keys": {alg: dict(Counter(k["state"] for k in keys if k["alg"] == alg)) for alg in ALGS},
        "retiring_keys_still_verify": retiring,
        "ok": not (failed or stats.errors or rotator.failed),
    }


def _retiring_still_verify(
    target: Target, stats: Stats, keys: list[dict[str, Any]]
) -> dict[str, dict[str, int]]:
    """Keys that began retiring during the run still verify what they signed: a fresh RP
    and the provider's introspection both accept a client-credentials token of each."""
    fresh = Validator(target.issuer, requests.Session(), max_age=0)
    out: dict[str, Counter[str]] = {alg: Counter() for alg in ALGS}
    for key in keys:
        alg, kid = key["alg"], key["kid"]
        if key["state"] != "retiring":
            continue
        out[alg]["retiring"] += 1
        if kid not in stats.samples:
            continue
        token, client = stats.samples[kid]
        out[alg]["checked"] += 1
        try:
            fresh.claims(token, alg=alg, client_id=client["client_id"], kind="access_token")
        except (ValueError, JoseError) as exc:
            stats.fail(alg, "access_token", f"retiring key: {exc}", kid=kid)
            continue
        http = requests.Session()
        http.auth = (client["client_id"], client["client_secret"])
        if introspect(http, target.issuer, token):
            out[alg]["verified"] += 1
        else:
            stats.fail(alg, "access_token", "retiring key: not active", kid=kid)
    return {alg: dict(counts) for alg, counts in out.items()}


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# -- `make bench` and alone -------------------------------------------------------------
def bench_scenario(idp: Idp, seconds: float, **options: Any) -> dict[str, Any]:
    """Scenario `rotation` of `make bench` on its provider: the bench's person, and its
    `web` and `web_sm2` clients carry the load. The report as a bench line."""
    target = Target(
        idp.url, idp.env, Idp.USERNAME, Idp.PASSWORD, Idp.REDIRECT,
        load_clients={"ES256": idp.clients["web"], "SM2SM3": idp.clients["web_sm2"]},
    )  # fmt: skip
    report = run_rotation(target, seconds=seconds, **options)
    load = report["load"].values()
    problems = report["failed_validations"] + report["rp_request_errors"] + report["load_errors"]
    return {
        "server": "idp", **report,
        "concurrency": sum(v["concurrency"] for v in load),
        "requests": sum(v["requests"] for v in load),
        "rate": round(sum(v["rate"] for v in load), 1),
        "errors": problems + len(report["rotation_failures"]),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="at least")
    parser.add_argument("--interval", type=float, default=7.0, help="R, per algorithm")
    parser.add_argument("--min-rotations", type=int, default=1, help="of each algorithm")
    parser.add_argument("--naive", action="store_true", help="RP cache max-age 2R: must fail")
    parser.add_argument("--max-age", type=float, help="RP cache max-age, another value")
    args = parser.parse_args(argv)
    idp = Idp()
    try:
        idp.setup()
        idp.start()
        line = bench_scenario(
            idp, args.seconds, interval=args.interval, naive=args.naive,
            rp_max_age=args.max_age, min_rotations=args.min_rotations,
        )  # fmt: skip
    finally:
        problems = idp.stop()
        idp.cleanup()
    print(json.dumps({**line, "stop_problems": problems}), flush=True)
    return 0 if line["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
