"""The measures themselves can fail: a page built to break every rule is caught on each,
and the same page mended passes. No provider: the pages are drawn with set_content."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.pages.measure import MODES, axe_violations, measure

pytestmark = [pytest.mark.browser]

PHONE, PHONE_LARGE = MODES[2], MODES[3]

BROKEN = """<!doctype html><html lang="zh-CN"><head>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>
body { margin: 0; font: 16px/1.6 sans-serif; }
.wide { width: 500px; } .foot { font-size: 12px; } .tight { line-height: 1; }
.pale { color: #aaa; } h1 { font-size: 20px; } h2 { font-size: 30px; }
.brand { width: 40px; }
</style></head><body>
<div class="brand">统一身份认证平台</div>
<h1>标题</h1><h2>小节</h2>
<div class="wide">太宽</div>
<p class="tight">行距太小</p><p class="pale">对比度不够</p>
<p><a href="/x">独立链接</a></p>
<p>这句话里有一个<a href="/y">链接</a>，可以小一些。</p>
<input type="text" name="nolabel">
<label><input type="checkbox" name="c"> 同意</label>
<a href="/z" target="_blank">新窗口</a>
<footer class="foot">页脚</footer>
</body></html>"""

MENDED = """<!doctype html><html lang="zh-CN"><head><title>好</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>
body { margin: 0; font: 24px/1.5 sans-serif; color: #000; background: #fff; }
h1 { font-size: 32px; } h2 { font-size: 28px; }
a.block { display: inline-block; min-height: 60px; min-width: 60px; padding: 12px; }
input { font: inherit; min-height: 60px; width: 100%; box-sizing: border-box; }
label { display: flex; align-items: center; min-height: 60px; gap: 8px; }
input[type=checkbox] { width: 40px; height: 40px; min-height: 0; }
</style></head><body><main>
<div class="brand">统一身份认证平台</div>
<h1>标题</h1><h2>小节</h2>
<p><a class="block" href="/x">独立链接</a></p>
<p>这句话里有一个<a href="/y">链接</a>，可以小一些。</p>
<label for="name">姓名</label><input id="name" type="text" name="name">
<label><input type="checkbox" name="c"> 同意</label>
</main></body></html>"""


@pytest.fixture
def blank(browser: Any) -> Iterator[Any]:
    context = browser.new_context(**PHONE_LARGE.context_options("http://127.0.0.1"))
    yield context.new_page()
    context.close()


def test_a_page_breaking_every_rule_is_caught_on_each(blank: Any, axe: str) -> None:
    blank.set_content(BROKEN)
    problems = "\n".join(measure(blank, PHONE_LARGE)["problems"])
    for expected in (
        "page is 500 px wide at 360 px",
        'footer.foot "页脚": text 12.0 px < 24 px',
        'p.tight "行距太小": line height',
        'p.pale "对比度不够": contrast 2.32:1 < 4.5:1',
        "is larger than the h1 (20 px)",
        "the site's name breaks over",
        'a "独立链接": target',
        "checkbox box 13×13 px < 36×36",
        "input: input without a label",
        "opens elsewhere (target=_blank)",
    ):
        assert expected in problems, f"{expected!r} not in:\n{problems}"
    assert 'a "链接": target' not in problems  # inside a sentence: exempt
    assert any("label" in v for v in axe_violations(blank, axe)), "axe missed the bare input"


def test_the_same_page_mended_passes(blank: Any, axe: str) -> None:
    blank.set_content(MENDED)
    assert measure(blank, PHONE_LARGE)["problems"] == []
    assert axe_violations(blank, axe) == []
    assert measure(blank, PHONE)["problems"] == []
