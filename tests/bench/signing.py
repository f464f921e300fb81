"""`make bench` scenario `signing`: the key ring alone (`KeyRing.sign` and `.verify` of an
ID-token-sized payload), one thread, so one core, per algorithm: SM2SM3 against ES256."""

from __future__ import annotations

import functools
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import sessionmaker

from idp.crypto import sm2
from idp.db import make_engine
from idp.keys import KeyRing
from migrations import runner

SIGNING_ALGS = ("ES256", "SM2SM3", "RS256", "EdDSA")
SM2_SIGNING_FLOOR_PER_CORE = 2000  # issue 5: signatures/s from the signing layer alone


def bench_signing(
    results: list[dict[str, Any]], seconds: float, emit: Callable[[dict[str, Any]], None]
) -> None:
    """Each algorithm's sign and verify rate for `seconds` (at most 2) each."""
    with tempfile.TemporaryDirectory(prefix="idpb-keys-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'keys.db'}")
        runner.upgrade(engine)
        # verified_memory=0: every verify checks the signature, as for a token seen first
        ring = KeyRing(os.urandom(16), sessionmaker(engine), max_token_ttl=600, verified_memory=0)
        ring.ensure_keys(SIGNING_ALGS)
        claims = {
            "iss": "http://127.0.0.1:8000", "sub": "x" * 43, "aud": "y" * 22,
            "iat": 1_800_000_000, "exp": 1_800_000_600, "auth_time": 1_800_000_000,
            "acr": "urn:cn:gov:idp:loa:2", "amr": ["pwd"], "sid": "z" * 22, "nonce": "n" * 22,
        }  # fmt: skip
        for alg in SIGNING_ALGS:
            for op in ("sign", "verify"):
                token = ring.sign(claims, alg=alg)
                call = (
                    functools.partial(ring.sign, claims, alg=alg)
                    if op == "sign"
                    else functools.partial(ring.verify, token, algs=(alg,))
                )
                count, started = 0, time.perf_counter()
                while (elapsed := time.perf_counter() - started) < min(seconds, 2.0):
                    for _ in range(50):
                        call()
                    count += 50
                line = {
                    "server": "signing-layer",
                    "scenario": "signing",
                    "alg": alg,
                    "op": op,
                    "backend": sm2.default_backend().name if alg == "SM2SM3" else "cryptography",
                    "threads": 1,
                    "rate": round(count / elapsed, 1),
                }
                emit(line)
                results.append(line)
        engine.dispose()


def signing_summary(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Each algorithm's rates, and SM2SM3 against its floor and against ES256."""
    signing = {(r["alg"], r["op"]): r for r in results if r.get("server") == "signing-layer"}
    if not signing:
        return None
    entry: dict[str, Any] = {
        f"{alg}_{op}_per_core": r["rate"] for (alg, op), r in sorted(signing.items())
    }
    sm2_sign, es256 = signing.get(("SM2SM3", "sign")), signing.get(("ES256", "sign"))
    if sm2_sign:
        entry["sm2_backend"] = sm2_sign["backend"]
        entry["sm2_floor_per_core"] = SM2_SIGNING_FLOOR_PER_CORE
        entry["sm2_meets_floor"] = sm2_sign["rate"] >= SM2_SIGNING_FLOOR_PER_CORE
        if es256:
            entry["es256_over_sm2sm3_sign"] = round(es256["rate"] / sm2_sign["rate"], 2)
    return entry
