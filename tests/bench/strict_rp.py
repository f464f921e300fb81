"""The strict relying parties of the rotation run (rotation.py): each refreshes its own
chain and gets client-credentials tokens, and validates every ID and access token from a
cached JWKS it never refetches for an unknown kid, counting what fails."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

import requests
from cryptography.hazmat.primitives import hashes
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from joserfc.jwt import ClaimsOption

from examples.verify_sm2_id_token import Refused, verify_id_token
from idp.keys.gm_jose import import_sm2_key
from idp.keys.gm_jose import registry as gm_registry

if TYPE_CHECKING:
    from tests.bench.rotation_setup import Target

AT_TYPES = ("at+jwt", "application/at+jwt")  # RFC 9068 section 2.1
TIMEOUT = 30  # seconds, for each request of the RPs


class Stats:
    """What the RPs saw, shared by their threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.validated: dict[str, Counter[str]] = defaultdict(Counter)
        self.failures: Counter[str] = Counter()
        self.failure_samples: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.signed_by: Counter[str] = Counter()  # kid -> its tokens validated
        self.samples: dict[str, tuple[str, dict[str, Any]]] = {}  # kid -> (token, client)

    def ok(self, alg: str, kind: str, kid: str) -> None:
        with self.lock:
            self.validated[alg][kind] += 1
            self.signed_by[kid] += 1

    def fail(self, alg: str, kind: str, reason: str, kid: object) -> None:
        with self.lock:
            self.failures[alg] += 1
            sampled = {(s["alg"], s["kid"]) for s in self.failure_samples}
            if len(self.failure_samples) < 10 and (alg, kid) not in sampled:
                sample = {"alg": alg, "token": kind, "kid": kid, "reason": reason}
                self.failure_samples.append(sample)

    def error(self, problem: str) -> None:
        with self.lock:
            self.errors.append(problem[:300])


class JwksCache:
    """The JWKS as a strict RP caches it: fetched again once older than the smaller of
    its own max-age and the answer's Cache-Control max-age; never for an unknown kid."""

    def __init__(self, http: requests.Session, url: str, max_age: float) -> None:
        self.http, self.url, self.max_age = http, url, max_age
        self.fetched, self.lifetime = float("-inf"), 0.0
        self.keys: dict[str, dict[str, Any]] = {}

    def key(self, kid: str) -> tuple[dict[str, Any] | None, float]:
        """The JWK named `kid` (None if the cached set has none) and the cache's age."""
        if time.monotonic() - self.fetched >= self.lifetime:
            response = self.http.get(self.url, timeout=TIMEOUT)
            response.raise_for_status()
            self.keys = {k["kid"]: k for k in response.json()["keys"]}
            found = re.search(r"max-age=(\d+)", response.headers.get("Cache-Control", ""))
            self.lifetime = min(self.max_age, float(found.group(1)) if found else self.max_age)
            self.fetched = time.monotonic()
        return self.keys.get(kid), time.monotonic() - self.fetched


def _part(raw: str, index: int) -> dict[str, Any]:
    part = raw.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def _half_hash(value: str, alg: str) -> str:
    """at_hash (OIDC Core 3.1.3.6) with the hash of `alg`: SM3 for SM2SM3."""
    digest = hashes.Hash(hashes.SM3() if alg == "SM2SM3" else hashes.SHA256())
    digest.update(value.encode())
    full = digest.finalize()
    return base64.urlsafe_b64encode(full[: len(full) // 2]).rstrip(b"=").decode()


class Validator:
    """Checks a token as a standards-following RP: the algorithm pinned per client, the
    signature by a key of the cached JWKS, then iss, aud, exp, iat, sub (and RFC 9068's
    typ, jti and client_id for access tokens)."""

    def __init__(self, issuer: str, http: requests.Session, max_age: float) -> None:
        self.issuer = issuer
        self.jwks = JwksCache(http, f"{issuer}/.well-known/jwks.json", max_age)
        self.imported: dict[str, Any] = {}
        self.by_gmssl: set[str] = set()

    def claims(self, raw: str, *, alg: str, client_id: str, kind: str) -> dict[str, Any]:
        """The token's claims; raises ValueError, JoseError or Refused saying why not."""
        header = _part(raw, 0)
        if header.get("alg") != alg:
            raise ValueError(f"alg {header.get('alg')!r}, expected {alg}")
        if kind == "access_token" and header.get("typ") not in AT_TYPES:
            raise ValueError(f"typ {header.get('typ')!r} is not at+jwt")
        kid = str(header.get("kid"))
        jwk, age = self.jwks.key(kid)
        if jwk is None:
            raise ValueError(f"kid {kid} is not in the cached JWKS ({age:.1f} s old)")
        if jwk.get("alg", alg) != alg:
            raise ValueError(f"key {kid} is for {jwk.get('alg')}")
        if alg == "SM2SM3":
            key = self.imported.get(kid) or import_sm2_key(jwk)
            token = jwt.decode(raw, key, registry=gm_registry(("SM2SM3",)))
            if kind == "id_token" and kid not in self.by_gmssl:
                # once per key, the RP example (gmssl alone) must agree
                verify_id_token(raw, {"keys": [jwk]}, issuer=self.issuer, client_id=client_id)
                self.by_gmssl.add(kid)
        else:
            key = self.imported.get(kid) or (RSAKey if alg == "RS256" else ECKey).import_key(jwk)
            token = jwt.decode(raw, key, algorithms=[alg])
        self.imported[kid] = key
        must: ClaimsOption = {"essential": True}
        rules: dict[str, ClaimsOption] = {
            "iss": {**must, "value": self.issuer},
            "aud": {**must, "value": client_id},
        }
        rules |= {"exp": must, "iat": must, "sub": must}
        if kind == "access_token":
            rules |= {"jti": must, "client_id": {**must, "value": client_id}}
        jwt.JWTClaimsRegistry(None, 5, **rules).validate(token.claims)  # leeway: 5 s
        return dict(token.claims)


class StrictRp(threading.Thread):
    """One relying party: refreshes its own chain and gets a client-credentials token in
    a loop, validates every ID and access token, and introspects every few access tokens
    (they must be active)."""

    def __init__(
        self, target: Target, alg: str, client: dict[str, Any], refresh_token: str,
        max_age: float, stats: Stats, stop: threading.Event, introspect_every: int,
    ) -> None:  # fmt: skip
        super().__init__(name=f"rp-{alg}", daemon=True)
        self.target, self.alg, self.client = target, alg, client
        self.refresh_token, self.stats, self.stop = refresh_token, stats, stop
        self.introspect_every, self.count = introspect_every, 0
        self.http = requests.Session()
        self.http.auth = (client["client_id"], client["client_secret"])
        self.validator = Validator(target.issuer, self.http, max_age)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self._refresh()
                self._client_credentials()
            except Exception as exc:  # counted: an RP that stops would prove nothing
                self.stats.error(f"{self.name}: {exc.__class__.__name__}: {exc}")
                self.stop.wait(0.2)

    def _token(self, **form: str) -> dict[str, Any]:
        response = self.http.post(f"{self.target.issuer}/token", data=form, timeout=TIMEOUT)
        if response.status_code != 200:
            grant, status = form["grant_type"], response.status_code
            raise ValueError(f"/token {grant}: HTTP {status} {response.text[:200]}")
        return dict(response.json())

    def _refresh(self) -> None:
        body = self._token(grant_type="refresh_token", refresh_token=self.refresh_token)
        self.refresh_token = body["refresh_token"]
        access = self._check(body["access_token"], "access_token")
        id_token = self._check(body["id_token"], "id_token")
        if id_token is not None and access is not None:
            if id_token.get("at_hash") != _half_hash(body["access_token"], self.alg):
                self._failed("id_token", body["id_token"], "at_hash does not match")
            if id_token["sub"] != access["sub"]:
                self._failed("id_token", body["id_token"], "sub is not the access token's")

    def _client_credentials(self) -> None:
        token = self._token(grant_type="client_credentials", scope="api")["access_token"]
        if self._check(token, "access_token") is not None:
            with self.stats.lock:  # one per key, to show at the end that retiring keys verify
                self.stats.samples.setdefault(str(_part(token, 0)["kid"]), (token, self.client))

    def _check(self, raw: str, kind: str) -> dict[str, Any] | None:
        try:
            claims = self.validator.claims(
                raw, alg=self.alg, client_id=self.client["client_id"], kind=kind
            )
        except (ValueError, JoseError, Refused) as exc:
            self._failed(kind, raw, f"{exc.__class__.__name__}: {exc}")
            return None
        kid = str(_part(raw, 0)["kid"])
        self.stats.ok(self.alg, kind, kid)
        if kind == "access_token":
            self.count += 1
            if self.count % self.introspect_every == 0:
                if introspect(self.http, self.target.issuer, raw):
                    self.stats.ok(self.alg, "introspected", kid)
                else:
                    self._failed(kind, raw, "introspection: not active")
        return claims

    def _failed(self, kind: str, raw: str, reason: str) -> None:
        self.stats.fail(self.alg, kind, reason, kid=_part(raw, 0).get("kid"))


def introspect(http: requests.Session, issuer: str, token: str) -> bool:
    form = {"token": token, "token_type_hint": "access_token"}
    response = http.post(f"{issuer}/introspect", data=form, timeout=TIMEOUT)
    return response.status_code == 200 and response.json().get("active") is True
