"""Front-Channel Logout 1.0: once a browser's session ends (/logout, an RP's /end_session,
the account centre's "sign out everywhere"), the page it sees loads each RP that got
tokens in the ended sessions in a hidden iframe, with `iss` and that RP's `sid`; the page
may frame those RPs' origins and nothing else. Last, a real chromium loads the page and a
real RP server on loopback receives the request."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.serving import make_server

from idp.db import db
from idp.oidc.clients import create_client
from idp.web.security import SSO_COOKIE
from tests.helpers import cookie, csrf_token
from tests.integration.oidc.conftest import REDIRECT, Browser, RegisteredClient, redeem
from tests.integration.oidc.test_backchannel_logout import another_person, segments

BYE = "https://rp.example.test/bye"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def registered(app, **metadata: Any) -> RegisteredClient:
    """A client registered as `idp client create` would (an RP of the tests)."""
    metadata.setdefault("name", "社保系统")
    metadata.setdefault("redirect_uris", [REDIRECT])
    metadata.setdefault("grant_types", ["authorization_code", "refresh_token"])
    metadata.setdefault("scopes", ["openid", "profile", "phone", "offline_access"])
    with app.app_context(), db.transaction() as session:
        new = create_client(session, **metadata)
        return RegisteredClient(new.client.client_id, new.secret, new.client.redirect_uris[0])


def id_token(app, browser: Browser, rp: RegisteredClient) -> dict[str, Any]:
    code, verifier = browser.code_for(rp)
    response = redeem(app.test_client(), rp, code, verifier)
    assert response.status_code == 200, response.json
    return {**segments(response.json["id_token"])[1], "raw": response.json["id_token"]}


def frames(html: str) -> list[tuple[str, dict[str, str]]]:
    """Each front-channel iframe of a page: its URL without query, and its query."""
    found = []
    for src in re.findall(r'<iframe class="frontchannel" src="([^"]+)"', html):
        url = urlsplit(unescape(src))
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        found.append((f"{url.scheme}://{url.netloc}{url.path}", query))
    return found


def frame_src(response) -> str | None:
    policy = response.headers["Content-Security-Policy"]
    found = [d.strip() for d in policy.split(";") if d.strip().startswith("frame-src")]
    return found[0] if found else None


def signed_out_page(browser: Browser, response):
    assert response.status_code == 303, response.status_code
    assert response.headers["Location"] == "/account/signed-out"
    return browser.client.get("/account/signed-out")


def log_out(browser: Browser):
    token = csrf_token(browser.client, "/logout")
    return browser.client.post("/logout", data={"csrf_token": token, "decision": "logout"})


def test_logout_loads_each_rp_that_got_tokens_in_this_session(app, person):
    issuer = app.extensions["idp.settings"].issuer
    social = registered(app, frontchannel_logout_uri="https://social.example.test/fc?tenant=gd")
    fund = registered(app, name="公积金", frontchannel_logout_uri="https://fund.example.test/fc")
    silent = registered(app, name="不动产")  # no front-channel URI
    laptop, phone = Browser(app.test_client(), person), Browser(app.test_client(), person)
    social_token = id_token(app, laptop, social)
    id_token(app, laptop, silent)
    id_token(app, phone, fund)  # fund got tokens in another session only

    page = signed_out_page(laptop, log_out(laptop))
    html = page.get_data(as_text=True)
    assert cookie(laptop.client, SSO_COOKIE) is None
    assert frames(html) == [
        (
            "https://social.example.test/fc",
            {"tenant": "gd", "iss": issuer, "sid": social_token["sid"]},
        )
    ]
    assert frame_src(page) == "frame-src https://social.example.test"
    assert "社保系统" in html and "公积金" not in html

    again = laptop.client.get("/account/signed-out")  # shown once: the RPs were told
    assert frames(again.get_data(as_text=True)) == [] and frame_src(again) is None
    assert frame_src(phone.client.get("/account")) is None  # no other page may frame them


def test_without_front_channel_rps_logout_is_as_before(app, person):
    rp = registered(app)
    browser = Browser(app.test_client(), person)
    id_token(app, browser, rp)
    response = log_out(browser)
    assert response.status_code == 303 and response.headers["Location"] == "/login"


def test_rp_initiated_logout_loads_the_rps_then_returns_to_the_one_that_asked(app, person):
    issuer = app.extensions["idp.settings"].issuer
    social = registered(
        app,
        post_logout_redirect_uris=[BYE],
        frontchannel_logout_uri="https://social.example.test/fc",
    )
    fund = registered(app, name="公积金", frontchannel_logout_uri="https://fund.example.test/fc")
    browser = Browser(app.test_client(), person)
    asking = id_token(app, browser, social)
    other = id_token(app, browser, fund)

    response = browser.client.get(
        "/end_session",
        query_string={
            "id_token_hint": asking["raw"],
            "post_logout_redirect_uri": BYE,
            "state": "s1",
        },
    )
    page = signed_out_page(browser, response)
    html = page.get_data(as_text=True)
    assert sorted(frames(html)) == [
        ("https://fund.example.test/fc", {"iss": issuer, "sid": other["sid"]}),
        ("https://social.example.test/fc", {"iss": issuer, "sid": asking["sid"]}),
    ]
    assert asking["sid"] != other["sid"]  # each RP its own sid for the one session
    assert f'id="continue" href="{BYE}?state=s1"' in html
    assert "signed_out.js" in html
    policy = frame_src(page)
    assert policy in (
        "frame-src https://fund.example.test https://social.example.test",
        "frame-src https://social.example.test https://fund.example.test",
    )


def test_sign_out_everywhere_loads_the_rps_of_every_ended_session_only(app, person):
    rp = registered(app, frontchannel_logout_uri="https://social.example.test/fc")
    laptop, phone = Browser(app.test_client(), person), Browser(app.test_client(), person)
    sids = {id_token(app, laptop, rp)["sid"], id_token(app, phone, rp)["sid"]}
    bob = Browser(app.test_client(), another_person(app))
    bobs = id_token(app, bob, rp)

    response = laptop.client.post(
        "/account/sessions/end-all", data={"csrf_token": csrf_token(laptop.client, "/account")}
    )
    loaded = frames(signed_out_page(laptop, response).get_data(as_text=True))
    assert {query["sid"] for _, query in loaded} == sids and len(loaded) == 2
    assert bobs["sid"] not in sids
    assert bob.client.get("/account").status_code == 200  # another person: untouched


def test_discovery_says_front_channel_logout_with_sessions(app):
    doc = app.test_client().get("/.well-known/openid-configuration").json
    assert doc["frontchannel_logout_supported"] is True
    assert doc["frontchannel_logout_session_supported"] is True


class FrontChannelRp:
    """An RP's front-channel logout URI on loopback: records each GET's query."""

    def __init__(self) -> None:
        self.requests: queue.Queue[dict[str, str]] = queue.Queue()
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                received.put({k: v[0] for k, v in query.items()})
                body = b"<!doctype html><title>signed out</title>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/frontchannel_logout"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def chromium_serving(app) -> Iterator[tuple[str, Any]]:
    """The provider served over HTTP on loopback, and Debian's chromium, headless."""
    sync_api = pytest.importorskip("playwright.sync_api")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield f"http://127.0.0.1:{server.server_port}", chromium
            finally:
                chromium.close()
    finally:
        server.shutdown()


def with_session_of(chromium: Any, url: str, browser: Browser) -> Any:
    """A chromium page holding `browser`'s SSO session (it signed in there)."""
    context = chromium.new_context(locale="zh-CN")
    sso = cookie(browser.client, SSO_COOKIE)
    context.add_cookies([{"name": SSO_COOKIE, "value": sso, "url": url}])
    return context.new_page()


def test_chromium_loads_the_rps_after_sign_out_everywhere_in_large_text(app, person):
    rp_server = FrontChannelRp()
    try:
        rp = registered(app, frontchannel_logout_uri=rp_server.uri)
        browser = Browser(app.test_client(), person)
        token = id_token(app, browser, rp)
        with chromium_serving(app) as (url, chromium):
            page = with_session_of(chromium, url, browser)
            refused: list[str] = []
            page.on("console", lambda m: refused.append(m.text) if "Refused" in m.text else None)
            page.goto(f"{url}/account?mode=large")  # 长者模式
            assert page.locator("body.mode-large").count() == 1
            page.get_by_role("button", name="退出所有设备").focus()
            page.keyboard.press("Enter")
            page.wait_for_url(f"{url}/account/signed-out")
            received = rp_server.requests.get(timeout=10)
            assert page.get_by_text("您已安全退出。").is_visible()
        assert received == {"iss": app.extensions["idp.settings"].issuer, "sid": token["sid"]}
        assert refused == []  # the page's CSP let the RP's frame load, and refused nothing
    finally:
        rp_server.close()
