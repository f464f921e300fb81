"""Reference services as separate processes, and the two subjects every contract suite
runs against: the `GovJson*` adapter talking to the reference process over HTTP, and
the in-memory fake. Both are built from the same synthetic dataset.

One process per kind per test worker (started on first use); a test that switches a
service into a fault mode switches it back when it ends.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors import synthetic
from connectors.http import set_mode
from tests.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[3]
KEY = bytes.fromhex("5eed" * 16)
DATASET = synthetic.generate(seed=7)


class ReferenceProcess:
    """`python -m connectors.<kind>.reference` on a free loopback port."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.port = free_port()
        self.log = workdir / f"{kind}.log"
        self.key_file = workdir / "key.hex"
        self.data_file = workdir / "registry.json"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ReferenceProcess:
        command = [sys.executable, "-m", f"connectors.{self.kind}.reference"]
        command += ["--port", str(self.port), "--key-file", str(self.key_file)]
        command += ["--data", str(self.data_file)]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log)
        wait_for_port(self.port, proc=self.proc)
        return self

    def set_mode(self, mode: str, delay: float = 0.0) -> None:
        set_mode(self.url, KEY, mode, delay)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="session")
def reference_services(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], ReferenceProcess]]:
    workdir = tmp_path_factory.mktemp("connectors")
    (workdir / "key.hex").write_text(KEY.hex())
    synthetic.save(DATASET, workdir / "registry.json")
    running: dict[str, ReferenceProcess] = {}

    def get(kind: str) -> ReferenceProcess:
        if kind not in running:
            running[kind] = ReferenceProcess(kind, workdir).start()
        return running[kind]

    yield get
    for process in running.values():
        process.stop()


@pytest.fixture
def reference(
    reference_services: Callable[[str], ReferenceProcess],
) -> Iterator[Callable[[str], ReferenceProcess]]:
    """The kind's running service; back to normal mode after the test, whatever it did."""
    used: list[ReferenceProcess] = []

    def get(kind: str) -> ReferenceProcess:
        used.append(reference_services(kind))
        return used[-1]

    yield get
    for process in used:
        process.set_mode("normal")


@dataclass
class Subject:
    """An implementation under contract test, and how to take it down."""

    impl: Any
    outage: Callable[[], AbstractContextManager[None]]


def reference_subject(process: ReferenceProcess, adapter: Any) -> Subject:
    @contextmanager
    def outage() -> Iterator[None]:
        process.set_mode("fail")
        try:
            yield
        finally:
            process.set_mode("normal")

    return Subject(adapter, outage)


def fake_subject(fake: Any) -> Subject:
    @contextmanager
    def outage() -> Iterator[None]:
        fake.available = False
        try:
            yield
        finally:
            fake.available = True

    return Subject(fake, outage)
