"""Two workers on one Redis, interleaved deterministically.

Worker A runs on a connection that stops after its n-th Redis command until worker B has
run to the end, then goes on. `every_interleaving` does this for n = 1, 2, ... until A
finishes before its n-th command: every point at which another worker can act between
two of A's commands is tried once, with fresh state each time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import redis

from idp.store import ArtifactStore

T = TypeVar("T")
WAIT = 10  # seconds; a worker that takes longer is stuck


class PausingRedis(redis.Redis):
    """A client that stops after its `pause_after`-th command (errors count too) until
    `resume` is set. Scripts go through `execute_command` like any command."""

    def __init__(self, url: str, pause_after: int) -> None:
        super().__init__(connection_pool=redis.ConnectionPool.from_url(url))
        self.pause_after = pause_after
        self.sent = 0
        self.stopped = threading.Event()
        self.resume = threading.Event()

    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute_command(*args, **options)
        finally:
            self.sent += 1
            if self.sent == self.pause_after:
                self.stopped.set()
                if not self.resume.wait(WAIT):
                    raise TimeoutError("worker A was never resumed")


@dataclass
class Interleaving(Generic[T]):
    after: int  # B ran after this many of A's commands
    result: T  # what worker A returned


def run_paused(
    url: str, after: int, worker_a: Callable[[ArtifactStore], T], worker_b: Callable[[], Any]
) -> tuple[bool, T]:
    """Run A, stopped after its `after`-th command while B runs; (A was stopped, A's result)."""
    client = PausingRedis(url, after)
    store = ArtifactStore(lambda: client)
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def run_a() -> None:
        try:
            outcome["result"] = worker_a(store)
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc
        finally:
            finished.set()

    thread = threading.Thread(target=run_a, daemon=True)
    thread.start()
    while not (client.stopped.is_set() or finished.is_set()):
        client.stopped.wait(0.01)
    stopped = client.stopped.is_set()
    worker_b()
    client.resume.set()
    thread.join(WAIT)
    client.close()
    if "error" in outcome:
        raise outcome["error"]
    assert not thread.is_alive(), "worker A did not finish"
    return stopped, outcome["result"]


def every_interleaving(
    url: str,
    set_up: Callable[[], Any],
    worker_a: Callable[[ArtifactStore], T],
    worker_b: Callable[[], Any],
) -> Iterator[Interleaving[T]]:
    """Yield each interleaving once A and B are done (set_up runs before each): check
    the invariant there. The last one is A run to the end before B."""
    after = 1
    while True:
        set_up()
        stopped, result = run_paused(url, after, worker_a, worker_b)
        yield Interleaving(after if stopped else -1, result)
        if not stopped:
            return
        after += 1
