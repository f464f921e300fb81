"""The load generator: N virtual users over keep-alive connections, in their own processes.

`run_load` forks `procs` processes (never more than the virtual users), hands each a
share of the virtual users, starts them all at one agreed instant, and stops each virtual
user at the first of: the deadline, its share of the request budget. A virtual user starts
no operation after the deadline; one still unanswered 30 s after it is cancelled and
counted as an error. Each process reports its latencies, errors and its own CPU time.
"""

from __future__ import annotations

import asyncio
import bisect
import multiprocessing as mp
import os
import time
import traceback
from array import array
from collections.abc import Callable
from typing import Any

from tests.bench.client import Connection
from tests.bench.scenarios import build_scenario

GRACE = 30.0  # seconds an operation may still run after the deadline
START_DELAY = 0.3  # seconds between forking the processes and the common start


def _share(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


async def _run_vus(
    spec: dict[str, Any], vus: list[int], start_at: float, seconds: float, budget: int
) -> dict[str, Any]:
    scenario = build_scenario(spec)
    lat = array("d")
    errors = 0
    samples: list[str] = []
    left = [budget]
    conns = [Connection(spec["host"], spec["port"]) for _ in vus]

    async def one(index: int, conn: Connection) -> None:
        nonlocal errors
        vu = scenario.virtual_user(index)
        pause = start_at - time.time()
        if pause > 0:
            await asyncio.sleep(pause)
        deadline = time.perf_counter() + (start_at + seconds - time.time())
        try:
            await _loop(vu, conn, deadline)
        finally:
            # free the server's connection slot at once: granian's --backpressure counts
            # open connections, and a stalled virtual user waits for one
            conn.close()

    async def _loop(vu: Any, conn: Connection, deadline: float) -> None:
        nonlocal errors
        perf = time.perf_counter
        while left[0] > 0 and perf() < deadline:
            left[0] -= 1
            t0 = perf()
            try:
                problem = await vu.step(conn)
            except (OSError, ConnectionError, ValueError, KeyError, IndexError) as exc:
                problem = f"{exc.__class__.__name__}: {exc}"
                conn.close()
            if problem is None:
                lat.append(perf() - t0)
            else:
                errors += 1
                if len(samples) < 5:
                    samples.append(problem[:300])
                if vu.broken:
                    return

    cpu0 = time.process_time()
    tasks = [asyncio.ensure_future(one(i, c)) for i, c in zip(vus, conns, strict=True)]
    timeout = max(start_at - time.time(), 0) + seconds + GRACE
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
        errors += 1
        if len(samples) < 5:
            samples.append("no answer within the grace period")
    for task in done:
        if task.exception() is not None:
            errors += 1
            samples.append("".join(traceback.format_exception(task.exception()))[-300:])
    end = time.time()
    cpu = time.process_time() - cpu0
    for conn in conns:
        conn.close()
    return {
        "ok": len(lat),
        "errors": errors,
        "lat": lat.tobytes(),
        "end": end,
        "cpu": cpu,
        "samples": samples,
        "state": scenario.state(),
        "extra": scenario.extra(),
    }


def _child(
    spec: dict[str, Any],
    vus: list[int],
    start_at: float,
    seconds: float,
    budget: int,
    pipe: Any,
) -> None:
    try:
        result = asyncio.run(_run_vus(spec, vus, start_at, seconds, budget))
    except BaseException as exc:  # report, never hang the parent
        result = {"fatal": "".join(traceback.format_exception(exc))[-2000:]}
    pipe.send(result)
    pipe.close()


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, /proc/stat)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    guest = sum(fields[8:10]) if len(fields) > 9 else 0  # already counted in user/nice
    return (sum(fields) - idle - guest) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: array, fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def run_load(
    spec: dict[str, Any],
    *,
    concurrency: int,
    seconds: float,
    max_requests: int,
    procs: int,
    cpu_probe: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Run one scenario at one concurrency; return the figures (and the scenario's state)."""
    procs = max(1, min(procs, concurrency))
    ctx = mp.get_context("fork")
    start_at = time.time() + START_DELAY
    children = []
    for p in range(procs):
        vus = list(range(p, concurrency, procs))
        receiver, sender = ctx.Pipe(duplex=False)
        budget = _share(max_requests, procs, p)
        proc = ctx.Process(
            target=_child, args=(spec, vus, start_at, seconds, budget, sender), daemon=True
        )
        proc.start()
        sender.close()
        children.append((proc, receiver))
    server_cpu0 = cpu_probe() if cpu_probe else None
    busy0 = busy_cpu_seconds()
    wait = max(start_at - time.time(), 0)
    time.sleep(wait)
    results = []
    for proc, receiver in children:
        if receiver.poll(START_DELAY + seconds + GRACE + 10):
            results.append(receiver.recv())
        else:
            results.append({"fatal": "load process did not report"})
        proc.join(5)
        if proc.is_alive():
            proc.kill()  # this process's own child, by its PID
            proc.join()
    server_cpu = (cpu_probe() - server_cpu0) if cpu_probe and server_cpu0 is not None else None
    busy = busy_cpu_seconds() - busy0
    fatal = [r["fatal"] for r in results if "fatal" in r]
    if fatal:
        raise RuntimeError("load generator failed:\n" + "\n".join(fatal))
    lat = array("d")
    for r in results:
        lat.frombytes(r["lat"])
    lat = array("d", sorted(lat))
    elapsed = max(r["end"] for r in results) - start_at
    ok = len(lat)
    errors = sum(r["errors"] for r in results)
    state: dict[int, Any] = {}
    for r in results:
        state.update(r["state"])
    extra: dict[str, Any] = {}
    for r in results:
        for key, value in r["extra"].items():
            extra[key] = extra.get(key, 0) + value
    line: dict[str, Any] = {
        "scenario": spec["name"],
        "concurrency": concurrency,
        "requests": ok + errors,
        "seconds": round(elapsed, 3),
        "rate": round(ok / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(percentile(lat, 0.50) * 1000, 2),
        "p99_ms": round(percentile(lat, 0.99) * 1000, 2),
        "max_ms": round(lat[-1] * 1000, 1) if lat else None,
        # operations that waited more than 2 s: a stalled connection, not ordinary queueing
        "ops_over_2s": len(lat) - bisect.bisect_right(lat, 2.0),
        "errors": errors,
        **extra,
        "client_cpu_s": round(sum(r["cpu"] for r in results), 3),
    }
    if server_cpu is not None:
        line["server_cpu_s"] = round(server_cpu, 3)
        # everything else the machine did meanwhile (other programs): a disturbed run
        line["other_cpu_s"] = round(max(busy - server_cpu - line["client_cpu_s"], 0.0), 3)
    samples = [s for r in results for s in r["samples"]]
    return {"line": line, "state": state, "samples": samples[:5]}
