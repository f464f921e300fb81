"""Measuring a page as drawn (measure.js, run inside it) and scanning it with axe-core, in
one of four modes: desktop or 360 px phone, standard or 长者模式 (large text).

The floors: 长者模式 follows MIIT's 适老化 rules (text ≥ 24 px = 18 pt, targets ≥ 60×60);
standard mode asks text ≥ 14 px and targets ≥ 44×44 (WCAG 2.5.5). Both: line height ≥ 1.3,
contrast ≥ 4.5:1, no horizontal scrolling.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
AXE = HERE / "axe"
MEASURE_JS = (HERE / "measure.js").read_text()
SERIOUS = ("serious", "critical")


@dataclass(frozen=True)
class Mode:
    name: str
    width: int
    large: bool

    @property
    def floors(self) -> dict[str, int]:
        return {
            "minFont": 24 if self.large else 14,
            "minTarget": 60 if self.large else 44,
            "width": self.width,
        }

    def context_options(self, base_url: str) -> dict[str, Any]:
        return {
            "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai",
            "base_url": base_url,
            "viewport": {"width": self.width, "height": 800},
            "is_mobile": self.width < 600,
            "has_touch": self.width < 600,
        }

    def cookies(self, base_url: str) -> list[dict[str, Any]]:
        """The 长者模式 choice as the browser remembers it (the `idp_mode` cookie)."""
        value = "large" if self.large else "standard"
        return [{"name": "idp_mode", "value": value, "url": base_url}]


MODES = (
    Mode("desktop", 1280, False),
    Mode("desktop-large", 1280, True),
    Mode("phone", 360, False),
    Mode("phone-large", 360, True),
)


def measure(page: Any, mode: Mode) -> dict[str, Any]:
    """{figures, problems} for the page as it is drawn now."""
    page.evaluate("document.fonts.ready")
    return dict(page.evaluate(MEASURE_JS, mode.floors))


def install_axe() -> str:
    """axe-core's source, installed by `npm ci` from the pinned lock once per checkout."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed (apt-get install nodejs npm)")
    wanted = json.loads((AXE / "package.json").read_text())["dependencies"]["axe-core"]
    installed = AXE / "node_modules" / "axe-core" / "package.json"
    key = hashlib.sha256(str(AXE).encode()).hexdigest()[:12]
    with (Path(tempfile.gettempdir()) / f"idp-axe-{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed.exists() or json.loads(installed.read_text())["version"] != wanted:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=AXE,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"npm ci failed:\n{done.stdout}{done.stderr}"
    return (AXE / "node_modules" / "axe-core" / "axe.min.js").read_text()


def axe_violations(page: Any, source: str) -> list[str]:
    """Serious and critical axe-core violations, one line each. axe's source is evaluated
    through Playwright (the page's CSP rightly refuses an injected <script>)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    results = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v =>"
        " ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 4)})))"
    )
    return [
        f"axe {v['id']} ({v['impact']}): {v['help']} — {', '.join(v['nodes'])}"
        for v in results
        if v["impact"] in SERIOUS
    ]
