"""One scenario against `idp serve` at chosen concurrencies, for finding where a rate goes
as load grows (what `make bench` reports, one scenario at a time, with the knobs to look).

    python -m tests.bench.under_load SCENARIO C1,C2,... [--pin] [--spy]

SCENARIO is client_credentials, introspection, userinfo or refresh. Prints one JSON line
per concurrency with the rate and the server's CPU per operation (its workers and Redis).

  --pin   the provider (workers and embedded Redis) on CPU 0 only, the load generator free
  --spy   record each worker with py-spy (when it is on PATH) during each run, idle
          threads included, into $SPY_DIR (default: the temp dir) as
          spy-<scenario>-c<N>-<pid>.txt (py-spy's raw format)

Environment: SECS (seconds per run, default 5), BENCH_THREADS (as `make bench`).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.client import basic_auth
from tests.bench.loadgen import run_load
from tests.bench.measuring import HOST, protocol_specs
from tests.bench.run import _sign_ins, _signin_fields
from tests.bench.servers import Idp, _children

QUIET: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def _spy_command(spy: str, pid: int, scenario: str, c: int, seconds: float) -> list[str]:
    out = Path(os.environ.get("SPY_DIR", tempfile.gettempdir())) / f"spy-{scenario}-c{c}-{pid}.txt"
    return [spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200",
            "-f", "raw", "--idle", "-o", str(out)]  # fmt: skip


def _tree(root: int) -> list[int]:
    tree, out, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(tree.get(pid, []))
    return out


def _carry(spec: dict[str, Any], out: dict[str, Any]) -> None:
    for index, token in out["state"].items():  # refresh tokens rotate
        spec["tokens"][index] = token


def main() -> None:
    scenario, concurrency = sys.argv[1], [int(c) for c in sys.argv[2].split(",")]
    seconds = float(os.environ.get("SECS", "5"))
    spy = shutil.which("py-spy") if "--spy" in sys.argv else None
    idp = Idp()
    idp.setup()
    idp.start()
    try:
        service, web = idp.clients["service"], idp.clients["web"]
        scope = "openid profile phone offline_access"
        signin = {**_signin_fields(web), "scope": scope}
        tokens = asyncio.run(_sign_ins(idp.port, signin, max(concurrency) + 1))
        auth = basic_auth(service["client_id"], service["client_secret"])
        specs = protocol_specs(auth, tokens[-1]["access_token"])
        specs["refresh"] = {
            "name": "refresh",
            "kind": "refresh",
            "client_id": web["client_id"],
            "client_secret": web["client_secret"],
            "tokens": [t["refresh_token"] for t in tokens[:-1]],
            "want_id_token": True,
        }
        spec = {"host": HOST, "port": idp.port, **specs[scenario]}
        assert idp.proc is not None
        pids = _tree(idp.proc.pid)
        workers = [p for p in pids if b"granian" in Path(f"/proc/{p}/cmdline").read_bytes()]
        redis = idp._redis_pid()
        if "--pin" in sys.argv:
            for pid in [*pids, *([redis] if redis else [])]:
                subprocess.run(["taskset", "-a", "-p", "-c", "0", str(pid)], capture_output=True)
        warm = run_load(spec, concurrency=8, seconds=1, max_requests=200_000, procs=2)
        if "tokens" in spec:
            _carry(spec, warm)
        for c in concurrency:
            spies = [
                subprocess.Popen(_spy_command(spy, pid, scenario, c, seconds), **QUIET)
                for pid in (workers[1:] if spy else [])  # the first is granian's supervisor
            ]
            out = run_load(
                spec, concurrency=c, seconds=seconds, max_requests=400_000, procs=2,
                cpu_probe=idp.cpu,
            )  # fmt: skip
            for recorder in spies:
                recorder.wait()
            if "tokens" in spec:
                _carry(spec, out)
            line = out["line"]
            served = max(line["requests"] - line["errors"], 1)
            line["server_cpu_us_per_op"] = round(1e6 * line["server_cpu_s"] / served)
            print(json.dumps(line), flush=True)
    finally:
        idp.stop()
        idp.cleanup()


if __name__ == "__main__":
    main()
