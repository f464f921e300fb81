"""`python -m connectors.serve_all` starts the four reference services as separate
processes and stops them all when it is stopped."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from connectors.enterprise.govjson import GovJsonEnterpriseRegistry
from connectors.face.govjson import GovJsonFaceVerifier
from connectors.population.govjson import GovJsonPopulationRegistry
from connectors.sms.govjson import GovJsonSmsGateway
from tests.integration.connectors.conftest import KEY, ROOT
from tests.servers import wait_for_port


def free_block(size: int = 4) -> int:
    """A base port with `size` free ports from it (best effort, as free_port is)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + size > 65535:
            continue
        try:
            for port in range(base, base + size):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no block of free ports")


def test_all_four_start_answer_and_stop_together(tmp_path: Path) -> None:
    key_file, data = tmp_path / "key", tmp_path / "registry.json"
    key_file.write_text(KEY.hex())
    base = free_block()
    command = [sys.executable, "-m", "connectors.serve_all", "--base-port", str(base)]
    command += ["--key-file", str(key_file), "--data", str(data)]
    launcher = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for port in range(base, base + 4):
            wait_for_port(port, proc=launcher)
        assert data.exists()  # generated on first start
        adapters = (
            GovJsonPopulationRegistry,
            GovJsonEnterpriseRegistry,
            GovJsonSmsGateway,
            GovJsonFaceVerifier,
        )
        for offset, adapter in enumerate(adapters):
            adapter(f"http://127.0.0.1:{base + offset}", KEY).ping()
    finally:
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(15) == 0
    for port in range(base, base + 4):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served"
