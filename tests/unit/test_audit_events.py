"""The audit catalogue is the one source of event names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from idp.audit import Event, record_event

ROOT = Path(__file__).resolve().parents[2]


def test_every_event_is_subject_object_action_and_named_once() -> None:
    values = [e.value for e in Event]
    assert len(values) == len(set(values))
    for value in values:
        subject, obj, action = value.split(":")
        assert subject in {"person", "client", "rp", "admin"} and obj and action


def test_a_string_is_refused_before_anything_is_written() -> None:
    class NoSession:  # any use of the session would fail the test
        def __getattr__(self, name: str) -> None:
            raise AssertionError(f"session.{name} used")

    with pytest.raises(ValueError, match="not an audit event"):
        record_event(NoSession(), "person:login:succeeded")  # type: ignore[arg-type]


def _record_event_calls() -> list[tuple[Path, ast.Call]]:
    calls = []
    for package in ("idp", "realname", "admin"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "record_event":
                    calls.append((path, node))
    return calls


def test_no_caller_names_an_event_by_a_string() -> None:
    calls = _record_event_calls()
    assert len(calls) > 20  # the walk found the callers
    literal = [
        f"{path.relative_to(ROOT)}:{call.lineno}"
        for path, call in calls
        if len(call.args) > 1 and isinstance(call.args[1], ast.Constant | ast.JoinedStr)
    ]
    assert literal == []
