"""Signed audit checkpoints: a frozen, unambiguous signed form that another SM2
implementation verifies; files that are only appended to and read back strictly; a writer
that runs when due and never twice at once; keys from configuration only."""

from __future__ import annotations

import json
import os
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from config import ConfigError, load_settings
from idp.audit import init_app
from idp.audit.checkpoint import (
    Checkpoint,
    CheckpointKeyError,
    CheckpointKeys,
    CheckpointSigner,
    key_id,
    parse_private_key,
    parse_public_keys,
    public_key_hex,
)
from idp.audit.checkpoint_log import TAIL_BYTES, CheckpointLog, read_checkpoints
from idp.audit.checkpointer import Checkpointer
from idp.crypto.sm2 import GmsslBackend, PrivateKey
from idp.crypto.sm3 import sm3_digest
from idp.db import Database

AT = datetime(2026, 11, 25, 8, 0, 0, 123456, tzinfo=UTC)
HEAD = "ab" * 32
SIGNER = CheckpointSigner(
    PrivateKey(0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8)
)


def test_the_signed_bytes_are_the_documented_ones() -> None:
    """Frozen: every checkpoint ever written was signed over exactly these bytes."""
    checkpoint = SIGNER.sign(42, HEAD, AT)
    assert checkpoint.signed_bytes() == (
        b"idp-audit-checkpoint/1\n"
        b'{"at":"2026-11-25T08:00:00.123456Z","head":"'
        + HEAD.encode()
        + b'","key":"'
        + SIGNER.key_id.encode()
        + b'","seq":42,"v":1}'
    )
    line = json.loads(checkpoint.as_line())
    assert set(line) == {"v", "seq", "head", "at", "key", "sig"} and len(line["sig"]) == 128


def test_another_sm2_implementation_verifies_a_checkpoint() -> None:
    """Signed with SM3 and GM/T 0009's default signer ID, as any verifier will assume."""
    checkpoint = SIGNER.sign(42, HEAD, AT)
    gmssl = GmsslBackend()
    signature = bytes.fromhex(checkpoint.sig)
    assert gmssl.verify(SIGNER.public.point, checkpoint.signed_bytes(), signature)
    assert CheckpointKeys([SIGNER.public]).problem(checkpoint) is None


@pytest.mark.parametrize(
    "change",
    [{"seq": 43}, {"head": "cd" * 32}, {"at": "2026-11-25T08:00:01.123456Z"}, {"key": "0" * 16}],
)
def test_changing_any_signed_field_breaks_the_signature(change: dict[str, Any]) -> None:
    signed = SIGNER.sign(42, HEAD, AT)
    changed = Checkpoint(**{**signed.__dict__, **change})
    keys = CheckpointKeys([SIGNER.public])
    expected = "signed by an unknown key" if "key" in change else "does not verify"
    assert expected in (keys.problem(changed) or "")


def test_the_key_id_is_a_digest_of_the_public_key() -> None:
    public = SIGNER.public
    point = b"\x04" + public.x.to_bytes(32, "big") + public.y.to_bytes(32, "big")
    assert SIGNER.key_id == key_id(public) == sm3_digest(point).hex()[:16]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda c: [c], "not a checkpoint object"),
        (lambda c: {"seq": c["seq"]}, "not a checkpoint object"),
        (lambda c: {**c, "extra": 1}, "not a checkpoint object"),
        (lambda c: {**c, "v": 2}, "unknown checkpoint version"),
        (lambda c: {**c, "seq": True}, "seq"),
        (lambda c: {**c, "seq": -1}, "seq"),
        (lambda c: {**c, "head": c["head"].upper()}, "head"),
        (lambda c: {**c, "sig": "00"}, "sig"),
        (lambda c: {**c, "at": 5}, "time"),
    ],
)
def test_a_malformed_checkpoint_is_refused(change: Any, reason: str) -> None:
    signed = SIGNER.sign(1, HEAD, AT)
    assert Checkpoint.from_json(signed.as_json()) == signed
    with pytest.raises(ValueError, match=reason):
        Checkpoint.from_json(change(signed.as_json()))


def test_public_keys_are_read_as_configured() -> None:
    other = PrivateKey.generate().public_key()
    text = f" {public_key_hex(SIGNER.public)} , 04{public_key_hex(other).upper()} "
    assert parse_public_keys(text) == [SIGNER.public, other]
    assert parse_public_keys("") == []
    with pytest.raises(CheckpointKeyError, match="128 hex"):
        parse_public_keys("abcd")
    with pytest.raises(CheckpointKeyError, match="not a point"):
        parse_public_keys("01" * 64)
    with pytest.raises(CheckpointKeyError, match=r"\[1, n-2\]"):
        parse_private_key("0" * 64)


def test_the_log_appends_one_private_line_at_a_time(tmp_path: Path) -> None:
    store = CheckpointLog(tmp_path / "checkpoints")
    first, second = SIGNER.sign(1, HEAD, AT), SIGNER.sign(2, "cd" * 32, AT)
    store.append(first)
    store.append(second)
    assert store.path.read_text() == first.as_line() + "\n" + second.as_line() + "\n"
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert store.last_good(CheckpointKeys([SIGNER.public])) == second


def test_the_last_good_checkpoint_skips_bad_lines_and_looks_past_the_tail(tmp_path: Path) -> None:
    store = CheckpointLog(tmp_path)
    keys = CheckpointKeys([SIGNER.public])
    assert store.last_good(keys) is None
    good = SIGNER.sign(7, HEAD, AT)
    stranger = CheckpointSigner(PrivateKey.generate()).sign(8, HEAD, AT)
    filler = "garbage\n" * (TAIL_BYTES // 8 + 10)  # pushes the good line out of the tail
    store.path.write_text(good.as_line() + "\n" + filler + stranger.as_line() + "\n")
    assert store.last_good(keys) == good


def test_checkpoints_are_read_strictly_from_files_and_leniently_from_logs(tmp_path: Path) -> None:
    keys = CheckpointKeys([SIGNER.public])
    one, two = SIGNER.sign(1, HEAD, AT), SIGNER.sign(2, HEAD, AT)
    (tmp_path / "a.jsonl").write_text(one.as_line() + '\n\n{"v": 1}\n')
    (tmp_path / "notes.txt").write_text("not read: not a .jsonl file in the directory\n")
    log = tmp_path / "idp.log"
    log.write_text(
        f"x INFO other: hello\nx INFO idp.audit.checkpoint: audit checkpoint {two.as_line()}\n"
    )
    lines = read_checkpoints([tmp_path, log], keys)
    assert [(line.where, line.good) for line in lines] == [
        ("a.jsonl:1", True),
        ("a.jsonl:3", False),
        ("idp.log:2", True),
    ]
    assert lines[1].problem == "unreadable (not a checkpoint object)"
    assert [line.checkpoint for line in lines if line.good] == [one, two]


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _checkpointer(tmp_path: Path, clock: _Clock, every: int = 3) -> Checkpointer:
    return Checkpointer(
        Database("sqlite://").engine,
        SIGNER,
        CheckpointKeys([SIGNER.public]),
        CheckpointLog(tmp_path),
        every=every,
        interval=60,
        clock=clock,
    )


def test_a_checkpoint_is_due_every_so_many_rows_or_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock()
    checkpointer = _checkpointer(tmp_path, clock)
    writes: list[float] = []
    monkeypatch.setattr(checkpointer, "write", lambda: writes.append(clock.now))

    for _ in range(5):  # rows 3 and 6 would be due; 5 rows make one checkpoint
        checkpointer.appended(1)
        checkpointer.wait(5)
    assert writes == [0.0]
    clock.now = 59.0
    checkpointer.appended(1)
    checkpointer.wait(5)
    assert writes == [0.0, 59.0]  # the 6th row, three since the last
    clock.now = 130.0
    checkpointer.appended(1)  # one row, but a minute has passed
    checkpointer.wait(5)
    assert writes == [0.0, 59.0, 130.0]


def test_only_one_periodic_checkpoint_is_written_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpointer = _checkpointer(tmp_path, _Clock(), every=1)
    release, calls = threading.Event(), []

    def slow_write() -> None:
        calls.append(1)
        release.wait(5)

    monkeypatch.setattr(checkpointer, "write", slow_write)
    for _ in range(5):
        checkpointer.appended(1)
    release.set()
    checkpointer.wait(5)
    assert calls == [1]


def test_a_failing_periodic_checkpoint_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpointer = _checkpointer(tmp_path, _Clock(), every=1)  # no tables in that database
    checkpointer.appended(1)
    checkpointer.wait(5)
    assert any("audit checkpoint not written" in r.getMessage() for r in caplog.records)


def test_the_signing_key_is_generated_once_into_the_instance_secrets(tmp_path: Path) -> None:
    first = load_settings({"instance_dir": str(tmp_path)}, environ={})
    again = load_settings({"instance_dir": str(tmp_path)}, environ={})
    assert first.audit_checkpoint_key == again.audit_checkpoint_key
    assert first.source["audit_checkpoint_key"] == "generated"
    assert parse_private_key(first.audit_checkpoint_key)
    assert first.audit_checkpoint_dir == str(tmp_path.resolve() / "audit-checkpoints")
    assert "audit_checkpoint_key" not in repr(first)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"audit_checkpoint_key": "f" * 64}, "IDP_AUDIT_CHECKPOINT_KEY"),
        ({"audit_checkpoint_public_key": "12"}, "IDP_AUDIT_CHECKPOINT_PUBLIC_KEY"),
    ],
)
def test_a_bad_configured_key_is_a_configuration_error(
    tmp_path: Path, overrides: dict[str, str], named: str
) -> None:
    settings = load_settings({"instance_dir": str(tmp_path), **overrides}, environ={})
    app = Flask("t")
    app.extensions["idp.db"] = Database("sqlite://")
    with pytest.raises(ConfigError, match=named):
        init_app(app, settings)
