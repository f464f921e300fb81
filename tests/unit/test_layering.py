"""Imports point one way, down DESIGN.md's layer list, with no cycles.

The layer list is read from DESIGN.md itself (the code block after "Imports point one
way"), so changing the design changes the test. Every import counts: at module level,
inside functions, and under `if TYPE_CHECKING:` (a cycle only type checkers see is still
a cycle a reader has to untangle).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app.py", "admin", "idp", "realname", "connectors", "config")
# The rules written under the layer block: (importer, imported) never allowed.
FORBIDDEN = (("idp.flows", "idp.oidc"), ("idp.oidc", "idp.web"))


@dataclass(frozen=True)
class Layers:
    entries: list[list[str]]  # dotted names, top layer first; "idp.*": idp's own modules

    def _match(self, module: str) -> tuple[int, str] | None:
        """(layer, package) of the most precise entry naming `module`."""
        best: tuple[int, int, str] | None = None  # (precision, layer, package)
        for layer, names in enumerate(self.entries):
            for name in names:
                if name.endswith(".*"):
                    parent = name[:-2]
                    if module.rpartition(".")[0] != parent:
                        continue
                    hit = (len(parent) + 1, layer, module)  # each module its own package
                elif module == name or module.startswith(name + "."):
                    hit = (len(name), layer, name)
                else:
                    continue
                if best is None or hit[0] > best[0]:
                    best = hit
        return (best[1], best[2]) if best else None

    def index(self, module: str) -> int | None:
        found = self._match(module)
        return found[0] if found else None

    def package(self, module: str) -> str:
        """The entry of the layer list a module belongs to."""
        found = self._match(module)
        return found[1] if found else module


def read_layers(design: Path) -> Layers:
    block = re.search(r"Imports point one way.*?```\n(.*?)```", design.read_text(), re.S)
    assert block, "DESIGN.md has no layer list"
    entries = []
    for line in block.group(1).splitlines():
        names = re.split(r"\s{2,}", line.strip())[0]  # the comment follows two spaces
        entries.append(
            [
                n.strip().removesuffix("/").removesuffix(".py").replace("/", ".")
                for n in names.split(",")
            ]
        )
    return Layers(entries)


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for name in PACKAGES:
        path = root / name
        if path.is_file():
            found[name.removesuffix(".py")] = path
            continue
        for file in path.rglob("*.py"):
            parts = file.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = file
    return found


def imports(file: Path, module: str, known: set[str]) -> set[str]:
    """The project modules `file` imports; `from package import name` counts as the
    submodule `package.name` when there is one, else as the package."""
    is_package = file.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package this module is in
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in known:  # a class or function: its module
                name = name.rpartition(".")[0]
            if name and name != module:
                out.add(name)
    return out


def graph(root: Path) -> dict[str, set[str]]:
    found = modules(root)
    known = set(found)
    return {name: imports(path, name, known) for name, path in found.items()}


def upward(layers: Layers, edges: dict[str, set[str]]) -> list[str]:
    problems = []
    for source, targets in sorted(edges.items()):
        here = layers.index(source)
        for target in sorted(targets):
            there = layers.index(target)
            if here is not None and there is not None and there < here:
                problems.append(f"{source} imports {target}, a layer above it")
    return problems


def forbidden(edges: dict[str, set[str]]) -> list[str]:
    return [
        f"{source} imports {target}: {rule[0]} never imports {rule[1]}"
        for source, targets in sorted(edges.items())
        for target in sorted(targets)
        for rule in FORBIDDEN
        if (source == rule[0] or source.startswith(rule[0] + "."))
        and (target == rule[1] or target.startswith(rule[1] + "."))
    ]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def package_edges(layers: Layers, edges: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for source, targets in edges.items():
        mine = layers.package(source)
        for target in targets:
            theirs = layers.package(target)
            if theirs != mine:
                out.setdefault(mine, set()).add(theirs)
    return out


def problems(root: Path) -> list[str]:
    layers = read_layers(root / "DESIGN.md")
    edges = graph(root)
    found = upward(layers, edges) + forbidden(edges)
    found += [f"module cycle: {' -> '.join(c)}" for c in cycles(edges)]
    found += [f"package cycle: {' <-> '.join(c)}" for c in cycles(package_edges(layers, edges))]
    return found


# -- the project ----------------------------------------------------------------------------
def test_every_module_has_a_layer() -> None:
    layers = read_layers(ROOT / "DESIGN.md")
    unplaced = [m for m in modules(ROOT) if layers.index(m) is None and m != "idp"]
    assert unplaced == []


def test_imports_point_down_the_layer_list_without_cycles() -> None:
    assert problems(ROOT) == []


def test_the_reference_app_imports_nothing_of_ours() -> None:
    """idp_app/ is a separate program that talks HTTP to the provider (DESIGN.md)."""
    known = set(modules(ROOT))
    found = {
        f"{file.relative_to(ROOT)} imports {target}"
        for file in (ROOT / "idp_app").rglob("*.py")
        for target in imports(file, "idp_app." + file.stem, known)
    }
    assert found == set()


# -- the checker itself, on a small tree ------------------------------------------------------
DESIGN = """Imports point one way, down this list:

```
app.py
idp/web, idp/flows, idp/oidc     top
realname/                        middle
idp/store, idp/*.py              base
config/
```
"""


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "DESIGN.md").write_text(DESIGN)
    for name, source in {"app.py": "", "idp/__init__.py": "", **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return tmp_path


def test_an_upward_import_is_reported(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "idp/store/__init__.py": "from realname import proofing\n",
            "realname/__init__.py": "",
            "realname/proofing.py": "",
        },
    )
    assert problems(root) == ["idp.store imports realname.proofing, a layer above it"]


def test_an_import_under_type_checking_counts_too(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "idp/db.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from idp.web import pages\n",
            "idp/web/__init__.py": "",
            "idp/web/pages.py": "",
        },
    )
    assert problems(root) == ["idp.db imports idp.web.pages, a layer above it"]


def test_cycles_between_modules_and_between_packages_are_reported(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "idp/web/__init__.py": "",
            "idp/web/a.py": "from idp.oidc import b\n",
            "idp/oidc/__init__.py": "",
            "idp/oidc/b.py": "",
            "idp/oidc/c.py": "from idp.web.a import x\n",
        },
    )
    found = problems(root)
    assert "idp.oidc.c imports idp.web.a: idp.oidc never imports idp.web" in found
    assert "package cycle: idp.oidc <-> idp.web" in found
    assert not [p for p in found if p.startswith("module cycle")]  # a -> b, c -> a: no loop


def test_a_module_cycle_is_reported(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "realname/__init__.py": "",
            "realname/a.py": "from realname import b\n",
            "realname/b.py": "from . import a\n",
        },
    )
    assert problems(root) == ["module cycle: realname.a -> realname.b"]


def test_downward_and_sideways_imports_are_fine(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "idp/web/__init__.py": "from idp.flows import step\nfrom realname import x\n",
            "idp/flows/__init__.py": "",
            "idp/flows/step.py": "import idp.store\nimport config\n",
            "realname/__init__.py": "",
            "realname/x.py": "from idp.context import y\n",
            "idp/context.py": "",
            "idp/store/__init__.py": "",
            "config/__init__.py": "",
        },
    )
    assert problems(root) == []


def test_config_knows_the_sm2_order_idp_crypto_uses() -> None:
    """config/ generates SM2 keys without importing idp.crypto (a layer above it)."""
    import config
    from idp.crypto.sm2 import SM2_CURVE, PrivateKey

    assert SM2_CURVE.n == config.SM2_ORDER
    PrivateKey(int(config._sm2_private_key(), 16))  # in range, or this raises
