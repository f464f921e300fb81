"""connectors/ is the bottom layer: it knows nothing of the provider above it."""

from __future__ import annotations

import ast
from pathlib import Path

import connectors

ABOVE = {"idp", "realname", "admin", "app", "config", "migrations", "tests"}
ROOT = Path(connectors.__file__).parent


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_connector_module_imports_from_the_layers_above() -> None:
    modules = sorted(ROOT.rglob("*.py"))
    assert len(modules) > 10
    offenders = {str(p.relative_to(ROOT)): imported_roots(p) & ABOVE for p in modules}
    assert {path: found for path, found in offenders.items() if found} == {}


def test_interface_modules_import_only_the_standard_library() -> None:
    for kind in ("population", "enterprise", "sms", "face"):
        roots = imported_roots(ROOT / kind / "__init__.py")
        assert roots <= {"__future__", "collections", "dataclasses", "typing"}, kind
