"""Where checkpoints are kept outside the database: appended, one line each, to
`checkpoints.jsonl` in the configured directory, and read back from there, from copies of
it, or from log files that carry the `audit checkpoint {…}` lines of the log stream.

Appends open the file O_APPEND and write a line in one call, so several worker processes
may append at once without interleaving. Nothing here ever rewrites or truncates a file:
the directory can live on append-only storage (chattr +a, a WORM mount).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from idp.audit.checkpoint import Checkpoint, CheckpointKeys

CURRENT = "checkpoints.jsonl"
# What a log line carries before the checkpoint's JSON (see checkpointer.py).
LOG_MARKER = "audit checkpoint "
TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class CheckpointLine:
    """One checkpoint read back: good when `problem` is None."""

    where: str  # file:line
    checkpoint: Checkpoint | None
    problem: str | None = None

    @property
    def good(self) -> bool:
        return self.problem is None and self.checkpoint is not None


class CheckpointLog:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / CURRENT

    def append(self, checkpoint: Checkpoint) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = (checkpoint.as_line() + "\n").encode("ascii")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)  # a checkpoint that a crash loses anchors nothing
        finally:
            os.close(fd)
        return self.path

    def last_good(self, keys: CheckpointKeys) -> Checkpoint | None:
        """The newest checkpoint in the current file that a trusted key signed. Reads the
        file's tail first: the file only grows, and this runs with every checkpoint."""
        try:
            with open(self.path, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                for start in (max(size - TAIL_BYTES, 0), 0):
                    fh.seek(start)
                    text = fh.read().decode("ascii", "replace")
                    lines = text.splitlines()[1 if start else 0 :]  # the first may be cut
                    for line in reversed(_parse(lines, self.path.name, strict=True)):
                        if line.good and line.checkpoint is not None:
                            problem = keys.problem(line.checkpoint)
                            if problem is None:
                                return line.checkpoint
                    if start == 0:
                        break
        except FileNotFoundError:
            pass
        return None


def read_checkpoints(paths: Iterable[Path], keys: CheckpointKeys) -> list[CheckpointLine]:
    """Every checkpoint in `paths` (directories: their *.jsonl files, in name order), each
    with its signature checked. In a .jsonl file every line must be a checkpoint; in any
    other file (a log) only lines with the log marker are read."""
    found: list[CheckpointLine] = []
    for path in _files(paths):
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = _parse(fh, path.name, strict=path.suffix == ".jsonl")
        for line in lines:
            if line.good and line.checkpoint is not None:
                problem = keys.problem(line.checkpoint)
                if problem is not None:
                    line = CheckpointLine(line.where, line.checkpoint, problem)
            found.append(line)
    return found


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.glob("*.jsonl") if p.is_file())
        elif path.exists():
            yield path


def _parse(lines: Iterable[str], name: str, *, strict: bool) -> list[CheckpointLine]:
    parsed = []
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        where = f"{name}:{number}"
        if LOG_MARKER + "{" in text:
            text = text[text.index(LOG_MARKER) + len(LOG_MARKER) :]
        elif not strict or not text:
            continue
        try:
            parsed.append(CheckpointLine(where, Checkpoint.from_json(json.loads(text))))
        except ValueError as exc:  # JSONDecodeError is one
            reason = "not JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)
            parsed.append(CheckpointLine(where, None, f"unreadable ({reason})"))
    return parsed
