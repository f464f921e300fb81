"""One provider for the whole page suite (session scope: one `idp serve` per xdist
worker) wired to the reference services (registries, SMS gateway, face), the people who
sign in to it, and axe-core for the scans."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from connectors import synthetic
from tests.e2e import conftest as e2e
from tests.e2e.pages.measure import install_axe
from tests.e2e.pages.people import Browsers, People
from tests.e2e.pages.site import (
    RP_URL,
    Site,
    keyboard_people,
    legal_representative,
    life_people,
    standing_rp,
)
from tests.servers import free_port, stop_reference_services


@pytest.fixture(scope="session")
def provider() -> Iterator[Site]:
    """Overrides the e2e conftest's (module scope) so that every module here shares it."""
    tmp = Path(tempfile.mkdtemp(prefix="idp-pg-"))  # short: the embedded Redis socket
    port = free_port()
    env = e2e._environment(tmp, port)
    url = f"http://127.0.0.1:{port}"
    key = secrets.token_bytes(32)
    key_file, data_file = tmp / "connectors_key", tmp / "registry.json"
    key_file.write_text(key.hex() + "\n")
    synthetic.save(synthetic.generate(), data_file)  # the data site.py picks people from
    env.update(IDP_CONNECTORS_VENDOR="govjson", IDP_CONNECTORS_KEY=key.hex())
    # Every browser here comes from 127.0.0.1, like a service hall's behind one address: the
    # code pages of four modes ask for more than the default 20 codes an hour from it.
    env.update(IDP_SMS_CODES_PER_ADDRESS="500")
    services_log, log_path = tmp / "services.log", tmp / "serve.log"
    services: subprocess.Popen[bytes] | None = None
    proc = None
    problems: list[str] = []
    try:
        services, urls = e2e.upgrade_beside_reference_services(
            env, key, key_file, data_file, services_log
        )
        with ThreadPoolExecutor(4) as pool:  # each `idp` command is a process: side by side
            seeded = pool.submit(e2e._idp, env, "demo", "seed", "--rp-url", RP_URL, "--json")
            represented = pool.submit(legal_representative, env)
            others = [pool.submit(keyboard_people, env), pool.submit(life_people, env)]
            for done in others:
                done.result()
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
                sms_url=urls["sms"],
                key=key,
            )
    finally:
        if proc is not None:
            problems = e2e._stop(proc, tmp / "instance")
        if services is not None:
            problems += stop_reference_services(services, e2e.STOP_TIMEOUT)
        output = "".join(
            f"--- {path.name}\n{path.read_text(errors='replace')}"
            for path in (services_log, log_path)
            if path.exists()
        )
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
