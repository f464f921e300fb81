"""The provider under attack: `idp serve` with two workers on real PostgreSQL 15 and a
real Redis of its own, attacked over HTTP as an outsider, a relying party or a signed-in
person would.

Each test module gets its own server (module scope: starting one takes about two seconds).
Test set-up (people, clients) goes straight into the same database through an in-process
app built from the same settings; every attack goes over HTTP.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from flask import Flask

from tests.integration.oidc.conftest import pkce, query_of
from tests.servers import PostgresServer, RedisServer, free_port, wait_for_port

REPO = Path(__file__).resolve().parents[3]
IDP = Path(sys.executable).parent / "idp"
REDIRECT = "https://rp.example.test/callback"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Rp:
    """A registered relying party as its developer knows it."""

    client_id: str
    secret: str | None
    redirect_uri: str

    @property
    def basic(self) -> tuple[str, str]:
        return (self.client_id, self.secret or "")


class Live:
    """A running provider: its URL, its settings, and an in-process app for set-up."""

    def __init__(self, url: str, env: dict[str, str], app: Flask, log: Path) -> None:
        self.url = url
        self.env = env
        self.app = app
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    # -- set-up, straight into the database ---------------------------------------------------
    def person(self, **fields: str) -> dict[str, str]:
        """A synthetic person who can sign in (username, phone, password, id)."""
        from idp import context
        from idp.db import db

        n = secrets.randbelow(10**7)
        data = {
            "username": fields.get("username", f"attacked{n}"),
            "phone": fields.get("phone", f"1700{n:07d}"),
            "password": fields.get("password", "teapot-harbour-2026"),
        }
        with self.app.app_context(), db.transaction() as session:
            data["id"] = context.accounts().create_person(session, **data).id
        return data

    def client(self, **metadata: Any) -> Rp:
        from idp.db import db
        from idp.oidc.clients import create_client

        metadata.setdefault("name", "社保系统（测试）")
        metadata.setdefault("redirect_uris", [REDIRECT])
        metadata.setdefault("grant_types", ["authorization_code", "refresh_token"])
        metadata.setdefault("scopes", ["openid", "profile", "phone", "offline_access"])
        with self.app.app_context(), db.transaction() as session:
            new = create_client(session, **metadata)
            uris = new.client.redirect_uris
            return Rp(new.client.client_id, new.secret, uris[0] if uris else "")

    def browser(self, person: dict[str, str] | None = None) -> Browser:
        return Browser(self, person)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(self.url + path, allow_redirects=False, timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url + path, allow_redirects=False, timeout=10, **kwargs)


def authorize_query(rp: Rp, **params: str) -> dict[str, str]:
    """An authorization request of `rp`'s code flow for `openid`, `params` on top."""
    return {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid",
        "state": "st-attack",
        **params,
    }


def form_of(html: str) -> tuple[str, dict[str, str]]:
    """A page's first POST form: its action and its hidden fields."""
    form = html.split("<form", 1)[1].split("</form>", 1)[0]
    action = re.search(r'action="([^"]*)"', form)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    return (action.group(1) if action else ""), hidden


class Browser:
    """A person's browser over real HTTP: cookies kept, redirects reported, not followed."""

    def __init__(self, live: Live, person: dict[str, str] | None) -> None:
        self.live = live
        self.person = person
        self.http = requests.Session()
        self.pages: list[str] = []  # every provider page shown during the last authorize()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else self.live.url + path
        return self.http.get(url, allow_redirects=False, timeout=10, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else self.live.url + path
        return self.http.post(url, data=data, allow_redirects=False, timeout=10, **kwargs)

    def csrf(self, path: str) -> str:
        match = CSRF.search(self.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def sign_in(
        self, username: str | None = None, password: str | None = None
    ) -> requests.Response:
        assert self.person is not None
        return self.post(
            "/login",
            {
                "username": username or self.person["username"],
                "password": password or self.person["password"],
                "csrf_token": self.csrf("/login?switch=1"),
            },
        )

    def authorize(
        self, rp: Rp, *, consent: str = "allow", act_for: str = "self", **params: str
    ) -> requests.Response:
        """GET /authorize and answer every page (sign-in, act-for, consent) until the
        provider sends the browser back to the RP; returns that last response."""
        self.pages = []
        response = self.get(
            "/authorize", params=authorize_query(rp, **{"nonce": "n-attack", **params})
        )
        for _ in range(8):
            location = response.headers.get("Location", "")
            if response.is_redirect and not location.startswith(("/", self.live.url)):
                return response  # back at the RP (or elsewhere): done
            if response.is_redirect:
                target = urljoin(self.live.url + "/", location)
                if urlsplit(target).path == "/login":
                    assert self.person is not None
                    txn_id = query_of(target).get("txn", "")
                    response = self.post(
                        "/login",
                        {
                            "username": self.person["username"],
                            "password": self.person["password"],
                            "csrf_token": self.csrf(target),
                            "txn": txn_id,
                        },
                    )
                else:
                    response = self.get(target)
                continue
            html = response.text
            self.pages.append(html)
            if response.status_code == 200 and 'name="act_for"' in html:
                action, hidden = form_of(html)
                response = self.post(action, {**hidden, "act_for": act_for, "decision": "continue"})
                continue
            if response.status_code == 200 and 'name="decision"' in html:
                action, hidden = form_of(html)
                response = self.post(action, {**hidden, "decision": consent})
                continue
            return response
        raise AssertionError("the authorization did not finish")

    def code_for(self, rp: Rp, **params: str) -> tuple[str, str]:
        verifier, challenge = pkce()
        response = self.authorize(
            rp, code_challenge=challenge, code_challenge_method="S256", **params
        )
        assert response.is_redirect, response.text[:500]
        q = query_of(response.headers["Location"])
        assert "code" in q, q
        return q["code"], verifier

    def tokens_for(self, rp: Rp, **params: str) -> dict[str, Any]:
        code, verifier = self.code_for(rp, **params)
        return redeem(self.live, rp, code, verifier).json()


def redeem(live: Live, rp: Rp, code: str, verifier: str | None) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri}
    if verifier:
        data["code_verifier"] = verifier
    if rp.secret:
        return live.post("/token", data=data, auth=rp.basic)
    return live.post("/token", data={**data, "client_id": rp.client_id})


def jwt_claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (the tests check what an RP would read)."""
    import json

    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"idp serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url}/healthz not healthy in 30 s:\n{log.read_text()}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def attack_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.cleanup()


@contextmanager
def provider_process(
    postgres: PostgresServer,
    tmp: Path,
    redis_url: str,
    *,
    env: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
) -> Iterator[tuple[str, dict[str, str], Flask, Path]]:
    """`idp db upgrade`, then `idp serve --workers 2` on a new database of `postgres`, with
    `env` on top of the defaults (and `settings`, the same in-process, for set-up). Yields
    the URL, the environment, the in-process app and the server's log; stops it after."""
    from app import create_app

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
    full_env.update(
        IDP_INSTANCE_DIR=str(tmp / "instance"),
        IDP_ISSUER=url,
        IDP_DATABASE_URL=postgres.create_database(f"atk_{uuid.uuid4().hex[:12]}"),
        IDP_REDIS_URL=redis_url,
        IDP_PASSWORD_TIME_COST="1",
        IDP_PASSWORD_MEMORY_KIB="8192",
        **(env or {}),
    )
    done = subprocess.run(
        [str(IDP), "db", "upgrade"],
        env=full_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    log = tmp / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(IDP), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env=full_env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    app = create_app(
        {
            "instance_dir": full_env["IDP_INSTANCE_DIR"],
            "issuer": url,
            "database_url": full_env["IDP_DATABASE_URL"],
            "redis_url": redis_url,
            "password_time_cost": 1,
            "password_memory_kib": 8192,
            **(settings or {}),
        }
    )
    try:
        wait_for_port(port, timeout=30, proc=proc)
        _wait_healthy(url, proc, log)
        yield url, full_env, app, log
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        app.extensions["idp.db"].engine.dispose()


@pytest.fixture(scope="module")
def live(attack_postgres: PostgresServer) -> Iterator[Live]:
    """`idp serve --workers 2` on its own PostgreSQL database and its own Redis server."""
    tmp = Path(tempfile.mkdtemp(prefix="idp-atk-"))
    redis = RedisServer().start()
    try:
        with provider_process(attack_postgres, tmp, redis.url) as (url, env, app, log):
            yield Live(url, env, app, log)
    finally:
        redis.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
