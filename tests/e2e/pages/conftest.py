"""One provider for the whole page suite (session scope: one `idp serve` per xdist
worker), the people who sign in to it, and axe-core for the scans."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import conftest as e2e
from tests.e2e.pages.measure import install_axe
from tests.e2e.pages.people import Browsers, People
from tests.e2e.pages.site import (
    RP_URL,
    Site,
    keyboard_people,
    legal_representative,
    standing_rp,
)
from tests.servers import free_port


@pytest.fixture(scope="session")
def provider() -> Iterator[Site]:
    """Overrides the e2e conftest's (module scope) so that every module here shares it."""
    tmp = Path(tempfile.mkdtemp(prefix="idp-pg-"))  # short: the embedded Redis socket
    port = free_port()
    env = e2e._environment(tmp, port)
    url = f"http://127.0.0.1:{port}"
    log_path = tmp / "serve.log"
    proc = None
    problems: list[str] = []
    try:
        e2e._idp(env, "db", "upgrade")
        with ThreadPoolExecutor(3) as pool:  # each `idp` command is a process: side by side
            seeded = pool.submit(e2e._idp, env, "demo", "seed", "--rp-url", RP_URL, "--json")
            represented = pool.submit(legal_representative, env)
            pool.submit(keyboard_people, env).result()
            demo, enterprise = json.loads(seeded.result()), represented.result()
        proc = e2e._serve(env, port, log_path)
        e2e._wait_serving(url, port, proc, log_path)
        with standing_rp():
            yield Site(
                url=url,
                username=demo["username"],
                password=demo["password"],
                phone=demo["phone"],
                env=env,
                enterprise=enterprise,
            )
    finally:
        if proc is not None:
            problems = e2e._stop(proc, tmp / "instance")
        output = log_path.read_text(errors="replace") if log_path.exists() else ""
        shutil.rmtree(tmp, ignore_errors=True)
    assert not problems, "; ".join(problems) + f"\n{output}"


@pytest.fixture(scope="session")
def people(browser: Any, provider: Site) -> Iterator[People]:
    signed_in = People(browser, provider)
    yield signed_in
    signed_in.close()


@pytest.fixture
def browsers(browser: Any, provider: Site, people: People) -> Iterator[Browsers]:
    opened = Browsers(browser, provider, people)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def axe() -> str:
    return install_axe()
