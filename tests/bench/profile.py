"""Where the provider's CPU goes, per operation, without HTTP or a load generator.

    python -m tests.bench.profile [SCENARIO,...] [--profile] [-n N]

Builds the app in-process on a throwaway instance (set up with the `idp` CLI, default
argon2id parameters), drives each scenario through Flask's test client, and prints the
CPU microseconds per operation (the test client's own overhead included, roughly 60 us).
With --profile, also the cProfile lines (cumulative) of the provider's own code and of the
parts that weigh most: Redis, SQLAlchemy, joserfc, argon2, the request hooks.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import hashlib
import io
import os
import pstats
import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.bench.servers import Idp

SCENARIOS = ["discovery", "jwks", "client_credentials", "introspection", "userinfo",
             "refresh", "signin"]  # fmt: skip
INTERESTING = re.compile(
    r"/idp/|redis/client.py:\d+\(execute_command\)|orm/session.py:\d+\((get|commit)\)"
    r"|joserfc/jwt.py|argon2_verify|flask/app.py:\d+\(process_response\)|render_template"
)


def _basic(client: dict[str, Any]) -> dict[str, str]:
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenarios", nargs="?", default=",".join(SCENARIOS))
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--self-time", action="store_true", help="with --profile: every function, by own time"
    )
    parser.add_argument("-n", type=int, default=1000, help="operations (sign-ins: n / 20)")
    args = parser.parse_args()

    idp = Idp()
    idp.setup()
    os.environ.update({k: v for k, v in idp.env.items() if k.startswith("IDP_")})
    from app import create_app
    from idp.store import embedded

    try:
        app = create_app()
        c = app.test_client()
        service, web = idp.clients["service"], idp.clients["web"]

        def sign_in(scope: str = "openid profile") -> dict[str, Any]:
            browser = app.test_client()
            verifier = secrets.token_urlsafe(48)
            digest = hashlib.sha256(verifier.encode()).digest()
            query = {
                "response_type": "code",
                "client_id": web["client_id"],
                "redirect_uri": Idp.REDIRECT,
                "scope": scope,
                "state": "s",
                "nonce": "n",
                "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            }
            login = browser.get("/authorize?" + urlencode(query)).headers["Location"]
            page = browser.get(login).get_data(as_text=True)
            found = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert found, "no CSRF token on the sign-in form"
            form = {
                "username": Idp.USERNAME,
                "password": Idp.PASSWORD,
                "csrf_token": found.group(1),
                "txn": parse_qs(urlsplit(login).query)["txn"][0],
            }
            back = browser.post("/login", data=form).headers["Location"]
            if back.startswith("/signin/"):  # a page still to show
                back = browser.get(back).headers["Location"]
            code = parse_qs(urlsplit(back).query)["code"][0]
            data = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": Idp.REDIRECT,
                "code_verifier": verifier,
            }
            response = browser.post("/token", data=data, headers=_basic(web))
            assert response.status_code == 200, response.get_data(as_text=True)
            return dict(response.get_json())

        first = sign_in("openid profile phone offline_access")
        access_token, refresh = first["access_token"], [first["refresh_token"]]

        def rotate() -> Any:
            data = {"grant_type": "refresh_token", "refresh_token": refresh[0]}
            response = c.post("/token", data=data, headers=_basic(web))
            refresh[0] = response.get_json()["refresh_token"]
            return response

        bearer = {"Authorization": f"Bearer {access_token}"}
        introspect = {"token": access_token, "token_type_hint": "access_token"}
        ops: dict[str, Callable[[], Any]] = {
            "discovery": lambda: c.get("/.well-known/openid-configuration"),
            "jwks": lambda: c.get("/.well-known/jwks.json"),
            "client_credentials": lambda: c.post(
                "/token",
                data={"grant_type": "client_credentials", "scope": "api"},
                headers=_basic(service),
            ),
            "introspection": lambda: c.post(
                "/introspect", data=introspect, headers=_basic(service)
            ),
            "userinfo": lambda: c.get("/userinfo", headers=bearer),
            "refresh": rotate,
            "signin": sign_in,
        }
        for name in args.scenarios.split(","):
            op = ops[name]
            n = max(args.n // 20, 5) if name == "signin" else args.n
            for _ in range(min(n, 20)):
                op()
            start = time.process_time()
            for _ in range(n):
                op()
            per_op = (time.process_time() - start) / n
            print(f"{name}: {per_op * 1e6:.0f} us CPU per operation ({n} operations)")
            if args.profile:
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                for _ in range(n):
                    op()
                profiler.disable()
                out = io.StringIO()
                order = "tottime" if args.self_time else "cumulative"
                pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(400)
                lines = out.getvalue().splitlines()
                if not args.self_time:
                    lines = [ln for ln in lines if INTERESTING.search(ln)]
                else:
                    lines = [ln for ln in lines if re.match(r"\s*\d", ln)]
                print("  ncalls  tottime  percall  cumtime  percall  (cProfile inflates times)")
                for line in lines[:40]:
                    print("  " + line.strip()[:160])
    finally:
        embedded.stop(idp.instance)
        idp.cleanup()


if __name__ == "__main__":
    main()
