"""Mutation testing of the modules whose mistakes people notice first (`make mutation`).

Cosmic Ray makes classic mutants (comparison and arithmetic operators swapped, numbers
moved by one, `and`/`or`, `not` added, `True`/`False`, exception types, decorators
removed) and tests them one at a time, each against the unit tests that cover its module
(`MODULES`). It writes each mutant over the file it mutates, so every module is mutated in
a copy of the tree in a temporary directory: the working tree, which others may be editing,
is never written to.

    python scripts/mutation.py                      # every module, a score and survivors each
    python scripts/mutation.py --floor 90           # exit 1 if a module scores below 90 %
    python scripts/mutation.py realname/identifiers.py
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Module -> the fast unit tests that cover it. No test here may start a server.
MODULES: dict[str, tuple[str, ...]] = {
    "realname/identifiers.py": (
        "tests/unit/test_identifiers.py",
        "tests/unit/test_identifiers_edges.py",
    ),
    "idp/crypto/pii.py": ("tests/unit/test_pii.py",),
    "idp/oidc/claims.py": ("tests/unit/test_claims.py",),
    "idp/authn/policy.py": (
        "tests/unit/test_authn_policy.py",
        "tests/unit/test_authn_first_answer.py",
        "tests/unit/test_authn_advance.py",
    ),
    "idp/authn/release.py": ("tests/unit/test_authn_release.py",),
    "idp/authn/transaction.py": (
        "tests/unit/test_authn_transaction.py",
        "tests/unit/test_authn_advance.py",
    ),
    "idp/authn/methods.py": ("tests/unit/test_authn_methods.py",),
    "idp/authn/__init__.py": ("tests/unit/test_authn_advance.py",),
}

# The copy is the tree less what is not source (tests import examples/ and scripts/ too).
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "*cache", "__pycache__", "*.pyc", "*.egg-info", "instance", "test-output"
)

TIMEOUT_SECONDS = 60.0  # a mutant that makes its tests run this long counts as killed


@dataclass
class Score:
    module: str
    killed: int = 0
    survived: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # mutants Cosmic Ray could not test
    in_annotations: int = 0  # skipped: annotations are never evaluated here

    @property
    def total(self) -> int:
        return self.killed + len(self.survived)

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 100.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"a subset of: {', '.join(MODULES)}")
    parser.add_argument("--floor", type=float, help="exit 1 if a module scores below this %%")
    parser.add_argument("--keep", action="store_true", help="keep the copies (their paths print)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"not mapped to tests in {Path(__file__).name}: {', '.join(unknown)}")

    scores: list[Score] = []
    failed = False
    for module in args.modules or list(MODULES):
        missing = [test for test in MODULES[module] if not (ROOT / test).is_file()]
        if missing:
            print(f"\n== {module}: SKIPPED, its tests do not exist yet: {', '.join(missing)}")
            continue
        work = Path(tempfile.mkdtemp(prefix="idp-mutation-"))
        try:
            score = _mutate(module, MODULES[module], work)
        except BaselineError as exc:
            print(f"\n== {module}: NOT RUN, {exc}")
            failed = True
            continue
        finally:
            if args.keep:
                print(f"   (copy kept in {work})")
            else:
                shutil.rmtree(work, ignore_errors=True)
        _report(score)
        scores.append(score)

    print("\n== scores")
    for score in scores:
        print(f"   {score.module:<28} {score.killed:>4} / {score.total:<4} {score.percent:5.1f} %")
        if args.floor is not None and score.percent < args.floor:
            print(f"   {score.module} is below the floor of {args.floor:g} %")
            failed = True
    return 1 if failed else 0


class BaselineError(Exception):
    """The unmutated copy does not pass its own tests, so no mutant can be judged."""


def _mutate(module: str, tests: tuple[str, ...], work: Path) -> Score:
    shutil.copytree(ROOT, work, ignore=NOT_COPIED, dirs_exist_ok=True)
    # The copy comes first on the path, ahead of the editable install of the working tree.
    env = {**os.environ, "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1"}
    test_command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", "-p",
                    "no:cacheprovider", "--timeout", str(int(TIMEOUT_SECONDS)), *tests]  # fmt: skip
    test_command = _baseline(module, test_command, work, env)

    config = work / "cosmic-ray.toml"
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(module)}\n"
        f"timeout = {TIMEOUT_SECONDS}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(shlex.join(test_command))}\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )
    session = work / "session.sqlite"
    cosmic_ray = [sys.executable, "-m", "cosmic_ray.cli"]
    for step in ("init", "exec"):
        subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [*cosmic_ray, step, str(config), str(session)], cwd=work, env=env, check=True
        )
        if step == "init":
            _skip_annotations(work / module, session)
    dump = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [*cosmic_ray, "dump", str(session)],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout

    score = Score(module)
    for line in dump.splitlines():
        item, result = json.loads(line)
        (mutation,) = item["mutations"]
        where = f"{mutation['module_path']}:{mutation['start_pos'][0]}"
        what = f"{where}  {mutation['operator_name'].removeprefix('core/')}"
        if result and result["output"] == IN_ANNOTATION:
            score.in_annotations += 1
        elif result is None or result["worker_outcome"] != "normal":
            outcome = result["worker_outcome"] if result else "not run"
            score.errors.append(f"{what}  ({outcome})")
        elif result["test_outcome"] == "survived":
            score.survived.append(f"{what}\n{_changed_lines(result['diff'])}")
        else:
            score.killed += 1
    score.survived.sort(key=_by_line)
    return score


IN_ANNOTATION = "skipped: in an annotation, which `from __future__ import annotations` leaves unrun"


def _skip_annotations(source: Path, session: Path) -> None:
    """Mark as skipped the mutants inside annotations of a module that never evaluates them.

    Cosmic Ray mutates `IdType | str` in a signature into `IdType - str` and the like; under
    `from __future__ import annotations` no such mutant can change what the module does.
    """
    tree = ast.parse(source.read_text(encoding="utf-8"))
    future = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )
    if not future:
        return
    lines = source.read_text(encoding="utf-8").splitlines()

    def column(line: int, byte_offset: int) -> int:  # ast counts UTF-8 bytes, Cosmic Ray chars
        return len(lines[line - 1].encode()[:byte_offset].decode())

    spans = [
        ((node.lineno, column(node.lineno, node.col_offset)),
         (node.end_lineno or node.lineno, column(node.end_lineno or node.lineno,
                                                 node.end_col_offset or 0)))
        for node in _annotations(tree)
    ]  # fmt: skip
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    skipped = WorkResult(output=IN_ANNOTATION, worker_outcome=WorkerOutcome.SKIPPED)
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            start = tuple(item.mutations[0].start_pos)
            if any(low <= start < high for low, high in spans):
                db.set_result(item.job_id, skipped)


def _annotations(tree: ast.AST) -> list[ast.expr]:
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [arg for arg in (arguments.vararg, arguments.kwarg) if arg]
            found += [arg.annotation for arg in every if arg.annotation]
            found += [node.returns] if node.returns else []
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
    return found


def _baseline(module: str, test_command: list[str], work: Path, env: dict[str, str]) -> list[str]:
    """Check that the copy is what is imported and passes its tests; the command to use.

    Tests that pass without the conftest files run without them: loading those fixtures
    takes three times as long as the tests of a module like identifiers.py.
    """
    package = module.removesuffix(".py").replace("/", ".")
    where = subprocess.run(  # noqa: S603 - our own interpreter and one of MODULES
        [sys.executable, "-c", f"import {package} as m; print(m.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    if not where.stdout.strip().startswith(str(work)):
        raise BaselineError(f"{package} imports from {where.stdout.strip()!r}, not the copy")
    for command in ([*test_command, "--noconftest"], test_command):
        run = subprocess.run(  # noqa: S603 - our own interpreter and test files
            command, cwd=work, env=env, capture_output=True, text=True
        )
        if run.returncode == 0:
            print(f"\n== {module}: its tests pass unmutated; mutating a copy in {work}")
            print(f"   {shlex.join(command)}", flush=True)
            return command
    raise BaselineError(f"its tests fail before any mutation:\n{run.stdout[-3000:]}")


def _changed_lines(diff: str) -> str:
    lines = diff.splitlines()
    changed = [line for line in lines if line[:1] in "-+" and line[:3] not in ("---", "+++")]
    return "\n".join(f"      {line}" for line in changed)


def _by_line(survivor: str) -> int:
    return int(survivor.split()[0].rsplit(":", 1)[1])


def _report(score: Score) -> None:
    print(f"== {score.module}: {score.killed} / {score.total} killed, {score.percent:.1f} %")
    for survivor in score.survived:
        print(f"   survived {survivor}")
    if score.in_annotations:
        print(f"   not counted: {score.in_annotations} mutants inside annotations, never run")
    for error in score.errors:
        print(f"   not tested {error}")


if __name__ == "__main__":
    sys.exit(main())
