"""Key rotation under load breaks no relying party (issue acceptance: "rotate while `make
bench` runs; zero failed validations by the RP test that runs alongside").

Against its own `idp serve --workers 2`: the bench's refresh load (ES256 and SM2SM3
clients, 8 virtual users each), the real `idp keys rotate` cycling ES256, RS256 and
SM2SM3, and strict RPs that cache the JWKS and never refetch it for an unknown kid
(tests/bench/rotation.py explains why they must still never miss a key). Only counts
are asserted, no rates: it shares a 2-core CI machine with another xdist worker.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from idp.keys.gm_jose import SM2Key
from idp.keys.gm_jose import registry as gm_registry
from tests.bench.rotation import PROVIDER_RELOAD, run_rotation
from tests.bench.rotation_setup import ALGS, Target, register_rp_clients
from tests.bench.strict_rp import Validator
from tests.e2e.conftest import _environment, _idp, _serve, _stop, _wait_serving
from tests.servers import free_port

pytestmark = pytest.mark.slow

USERNAME = "rotation"
PHONE = "17000000302"
PASSWORD = "copper-lantern-meadow-2026"
REDIRECT = "http://127.0.0.1:9/callback"  # never followed: the code is read off Location
INTERVAL = 7.0  # R: seconds between two rotations of one algorithm (> 5 s reload + 1 s)
ROTATIONS = 3  # of each algorithm, at least


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    tmp = Path(tempfile.mkdtemp(prefix="idp-"))  # short: the embedded Redis has a unix socket
    port = free_port()
    env = _environment(tmp, port)
    issuer, log_path = f"http://127.0.0.1:{port}", tmp / "serve.log"
    serve: subprocess.Popen[bytes] | None = None
    problems: list[str] = []
    try:
        _idp(env, "db", "upgrade")
        target = Target(issuer, env, USERNAME, PASSWORD, REDIRECT)
        person = ("--username", USERNAME, "--phone", PHONE, "--password", PASSWORD, "--json")
        pool = ThreadPoolExecutor(2)  # the person and the RPs' clients, while the server starts
        created = pool.submit(_idp, env, "person", "create", *person)
        registered = pool.submit(register_rp_clients, target)
        pool.shutdown(wait=False)
        serve = _serve(env, port, log_path)
        assert json.loads(created.result())["ok"]
        clients = registered.result()
        _wait_serving(issuer, port, serve, log_path)
        yield replace(target, rp_clients=clients)
    finally:
        if serve is not None:
            problems = _stop(serve, tmp / "instance")
        output = log_path.read_text(errors="replace") if log_path.exists() else ""
        shutil.rmtree(tmp, ignore_errors=True)
    assert not problems, "; ".join(problems) + f"\n{output}"


def test_rotation_under_load_breaks_no_relying_party(target: Target) -> None:
    report = run_rotation(
        target,
        seconds=15,
        interval=INTERVAL,
        min_rotations=ROTATIONS,
        max_seconds=90,  # a bound for a starved machine; 25-35 s here
        tail=1,
    )
    print(json.dumps(report))  # the figures, in the captured output
    summary = json.dumps(report, indent=1)[:4000]

    # every rotation went through, and each algorithm was rotated at least 3 times
    assert report["rotation_failures"] == [], summary
    assert all(report["rotations"][alg] >= ROTATIONS for alg in ALGS), summary
    # the premise of the strict RP: each key signed only after it had been published for
    # longer than the RP's cache lifetime plus the provider's reload (see rotation.py)
    assert all(
        lead >= report["rp_jwks_max_age_s"] + PROVIDER_RELOAD
        for lead in report["next_key_min_lead_s"].values()
    ), summary

    # zero failed validations, and the RPs did validate tokens of every algorithm
    assert report["failed_validations"] == 0, summary
    assert report["rp_request_errors"] == 0, summary
    for alg in ALGS:
        validated = report["validated"][alg]
        assert validated.get("id_token") and validated.get("access_token"), summary
        assert validated.get("introspected"), summary
        # the rotations really changed the key under the RPs (the last key rotated in may
        # not have signed before the end)
        seen = report["keys_seen_signing"][alg]
        assert seen["rotated_in_seen"] >= seen["rotated_in"] - 1, summary
        # keys rotated out are retiring, still published, and still verify their tokens
        retiring = report["retiring_keys_still_verify"][alg]
        assert retiring["retiring"] >= ROTATIONS, summary
        assert retiring.get("checked") and retiring.get("verified") == retiring["checked"], summary
        assert report["keys"][alg] == {"active": 1, "next": 1, "retiring": retiring["retiring"]}

    # the load beside it saw no error
    assert report["load_errors"] == 0, summary
    assert set(report["load"]) == {"refresh", "refresh_sm2"}, summary


def test_strict_rp_refuses_what_it_must() -> None:
    """The RP above can fail: it refuses a token for each reason it must."""
    issuer, now = "http://127.0.0.1:9", int(time.time())
    keys = {"ES256": ECKey.generate_key("P-256", private=True), "SM2SM3": SM2Key.generate_key()}
    rp = Validator(issuer, requests.Session(), max_age=3600)
    rp.jwks.fetched, rp.jwks.lifetime = time.monotonic(), 3600.0  # as if just fetched
    for alg, key in keys.items():
        rp.jwks.keys[alg] = {**key.as_dict(private=False), "kid": alg, "alg": alg}
    good: dict[str, Any] = {"iss": issuer, "aud": "rp", "client_id": "rp", "sub": "s", "jti": "j"}
    good |= {"iat": now, "exp": now + 600}
    refused: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
        "a wrong issuer": ({"iss": "http://127.0.0.1:8"}, {}),
        "another audience": ({"aud": "other"}, {}),
        "an expired token": ({"exp": now - 60}, {}),
        "no jti": ({"jti": None}, {}),
        "not an access token": ({}, {"typ": "JWT"}),
        "a key the cached JWKS lacks": ({}, {"kid": "next"}),
    }
    for alg, key in keys.items():
        ok = _signed(alg, key, good, {})
        assert rp.claims(ok, alg=alg, client_id="rp", kind="access_token")["sub"] == "s"
        for reason, (claims, header) in refused.items():
            bad = _signed(alg, key, good | claims, header)
            with pytest.raises((ValueError, JoseError)):
                rp.claims(bad, alg=alg, client_id="rp", kind="access_token")
                pytest.fail(f"{alg}: accepted {reason}")


def _signed(alg: str, key: Any, claims: dict[str, Any], header: dict[str, str]) -> str:
    registry = gm_registry(("SM2SM3",)) if alg == "SM2SM3" else None
    body = {name: value for name, value in claims.items() if value is not None}
    head = {"alg": alg, "kid": alg, "typ": "at+jwt", **header}
    return jwt.encode(head, body, key, algorithms=[alg], registry=registry)
