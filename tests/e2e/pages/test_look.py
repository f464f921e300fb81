"""Every citizens' page, in four modes (desktop and 360 px phone, standard and 长者模式):
no horizontal scroll, text size, line height and contrast, tap targets, labelled inputs,
h1 not smaller than h2, the site's name on one line, no pop-ups, and no serious or
critical axe-core violation. See measure.py for the floors, catalogue.py for the pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pages.catalogue import PAGES, Page
from tests.e2e.pages.measure import MODES, Mode, axe_violations, measure
from tests.e2e.pages.people import Browsers

pytestmark = [pytest.mark.browser]

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def figures() -> Iterator[dict[tuple[str, str], Any]]:
    """What each page measured, written to test-output/ for the record."""
    found: dict[tuple[str, str], Any] = {}
    yield found
    out = REPO / "test-output" / "page-figures.tsv"
    out.parent.mkdir(exist_ok=True)
    keys = ("scroll_width", "smallest_text", "lowest_contrast", "smallest_target", "h1", "h2")
    rows = ["page\tmode\t" + "\t".join(keys)]
    rows += [
        f"{name}\t{mode}\t" + "\t".join(str(got.get(k, "")) for k in keys)
        for (name, mode), got in sorted(found.items())
    ]
    out.write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
@pytest.mark.parametrize("target", PAGES, ids=lambda p: p.name)
def test_page_fits_and_reads(
    target: Page, mode: Mode, browsers: Browsers, axe: str, figures: dict[tuple[str, str], Any]
) -> None:
    page = browsers.open(target.who, mode)
    target.open(page, browsers.site)
    h1 = page.locator("h1").first.inner_text()
    if target.h1:
        said = page.locator("main").inner_text()[:300]
        assert target.h1 in h1, f"{target.name} drew {h1!r} at {page.url}: {said}"
    body = page.locator("body").get_attribute("class") or ""
    assert ("mode-large" in body) == mode.large, body

    got = measure(page, mode)
    figures[(target.name, mode.name)] = got["figures"]
    problems = got["problems"] + axe_violations(page, axe)
    assert not problems, f"{target.name} in {mode.name} ({page.url}):\n" + "\n".join(problems)
