"""Run all four reference services, each as its own process, until interrupted.

    python -m connectors.serve_all --key-file instance/secrets/connectors_key \\
        --data instance/registry.json [--host 127.0.0.1] [--base-port 8101]

Ports: population base, enterprise base+1, SMS base+2, face base+3. The data file is
generated (default seed) when it does not exist yet. Stopping this process stops all four.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from connectors import synthetic

__all__ = ["KINDS", "main"]

KINDS = ("population", "enterprise", "sms", "face")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the four reference services.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--base-port", type=int, default=8101)
    parser.add_argument("--key-file", required=True, help="shared key, hexadecimal")
    parser.add_argument("--data", required=True, help="synthetic data file (made if missing)")
    args = parser.parse_args(argv)
    if not Path(args.data).exists():
        synthetic.save(synthetic.generate(), args.data)

    children = []
    for offset, kind in enumerate(KINDS):
        command = [sys.executable, "-m", f"connectors.{kind}.reference", "--host", args.host]
        command += ["--port", str(args.base_port + offset), "--key-file", args.key_file]
        command += ["--data", args.data]
        children.append(subprocess.Popen(command))  # noqa: S603 - our interpreter, our modules
        print(f"{kind}: http://{args.host}:{args.base_port + offset}", flush=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    status = 0
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.2)
        status = 1  # one of them died (bad key file, port taken): stop the rest
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            child.wait(10)
    return status


if __name__ == "__main__":
    sys.exit(main())
