"""Back-Channel Logout 1.0: when a person's session ends, each RP that got tokens in it
receives a Logout Token at its registered URI, checked here as the RP would check it.

The RPs are one real HTTP server on loopback that records every POST it receives."""

from __future__ import annotations

import base64
import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from examples.verify_sm2_id_token import verify_id_token, verify_sm2sm3
from idp import context
from idp.audit import AuditEvent
from idp.db import db
from idp.oidc import backchannel
from tests.helpers import csrf_token
from tests.integration.oidc.conftest import Browser, redeem

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
BYE = "https://rp.example.test/bye"
WAIT = 30.0  # seconds; generous, only ever reached when something is broken


@dataclass
class Post:
    path: str
    content_type: str
    token: str


class RelyingParties:
    """Back-channel logout endpoints at http://127.0.0.1:<port>/<name>: every POST is
    recorded on arrival; then the answer waits for the path's gate, if it has one, and is
    the path's status (204 unless told)."""

    def __init__(self) -> None:
        self.posts: queue.Queue[Post] = queue.Queue()
        self.status: dict[str, int] = {}
        self.gates: dict[str, threading.Event] = {}
        self.answered = 0
        self._lock = threading.Lock()
        parties = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                token = parse_qs(body).get("logout_token", [""])[0]
                parties.posts.put(Post(self.path, self.headers["Content-Type"], token))
                gate = parties.gates.get(self.path)
                if gate is not None:
                    gate.wait(WAIT)
                self.send_response(parties.status.get(self.path, 204))
                self.send_header("Content-Length", "0")
                self.end_headers()
                with parties._lock:
                    parties.answered += 1

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def uri(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def next(self) -> Post:
        return self.posts.get(timeout=WAIT)

    def rest(self) -> list[Post]:
        """Whatever else arrived, once every queued delivery has ended."""
        assert backchannel.wait_idle(WAIT)
        found = []
        while not self.posts.empty():
            found.append(self.posts.get_nowait())
        return found

    def close(self) -> None:
        for gate in self.gates.values():
            gate.set()
        backchannel.wait_idle(WAIT)
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def rps(app, monkeypatch) -> Iterator[RelyingParties]:
    monkeypatch.setattr(backchannel, "BACKOFF_SECONDS", 0.05)
    parties = RelyingParties()
    yield parties
    parties.close()


def segments(token: str) -> tuple[dict, dict]:
    def part(text: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))

    head, payload, _ = token.split(".")
    return part(head), part(payload)


def jwks(app) -> dict:
    return app.test_client().get("/.well-known/jwks.json").json


def id_token_for(app, browser: Browser, rp, scope: str = "openid") -> dict:
    """Sign in to `rp` in this browser; the claims of the ID token the RP gets."""
    code, verifier = browser.code_for(rp, scope=scope)
    response = redeem(app.test_client(), rp, code, verifier)
    assert response.status_code == 200, response.json
    return {**segments(response.json["id_token"])[1], "raw": response.json["id_token"]}


def check_logout_token(app, post: Post, rp, id_token: dict) -> dict:
    """The RP's checks (section 2.6), with joserfc against the published JWKS."""
    assert post.content_type == "application/x-www-form-urlencoded"
    header, _ = segments(post.token)
    assert header["typ"] == "logout+jwt"
    # joserfc cannot import SM2 keys (README); this RP signs with RS256 anyway
    keys = KeySet.import_key_set({"keys": [k for k in jwks(app)["keys"] if k.get("crv") != "SM2"]})
    decoded = jwt.decode(post.token, keys, algorithms=["RS256"])
    issuer = app.extensions["idp.settings"].issuer
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": rp.client_id},
        iat={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
    ).validate(decoded.claims)
    return check_claims(decoded.claims, id_token)


def check_claims(claims: dict, id_token: dict) -> dict:
    assert claims["sid"] == id_token["sid"] and claims["sub"] == id_token["sub"]
    assert claims["events"] == {LOGOUT_EVENT: {}}
    assert "nonce" not in claims and "nonce" in id_token
    assert 0 < claims["exp"] - claims["iat"] <= 120
    return claims


def audit_rows(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.event == f"rp:backchannel_logout:{action}")
        return list(db.session.scalars(query.order_by(AuditEvent.seq)))


def sign_out(browser: Browser) -> Any:
    token = csrf_token(browser.client, "/logout")
    return browser.client.post("/logout", data={"csrf_token": token, "decision": "logout"})


def test_signing_out_sends_each_rp_with_a_uri_one_logout_token(app, browser, register, rps):
    online = register(name="社保系统", backchannel_logout_uri=rps.uri("social"))
    offline = register(name="公积金", backchannel_logout_uri=rps.uri("fund"))
    silent = register(name="不动产")  # registered no back-channel URI
    seen = {
        "/social": (online, id_token_for(app, browser, online)),
        # offline_access tokens outlive the sign-out, the RP's session does not
        "/fund": (offline, id_token_for(app, browser, offline, "openid offline_access")),
    }
    id_token_for(app, browser, silent)

    assert sign_out(browser).status_code == 303
    posts = [rps.next(), rps.next()]
    assert sorted(p.path for p in posts) == ["/fund", "/social"]
    for post in posts:
        rp, id_token = seen[post.path]
        claims = check_logout_token(app, post, rp, id_token)
        assert claims["iss"] == id_token["iss"] and claims["aud"] == rp.client_id
    assert rps.rest() == []  # one token each, and nothing for the RP without a URI
    delivered = audit_rows(app, "delivered")
    assert sorted(r.detail["client_id"] for r in delivered) == sorted(
        [online.client_id, offline.client_id]
    )
    assert all(r.detail["status"] == 204 and r.detail["attempts"] == 1 for r in delivered)


def test_rp_initiated_logout_sends_the_logout_token_too(app, browser, register, rps):
    rp = register(post_logout_redirect_uris=[BYE], backchannel_logout_uri=rps.uri("social"))
    id_token = id_token_for(app, browser, rp)
    response = browser.client.get(
        "/end_session",
        query_string={"id_token_hint": id_token["raw"], "post_logout_redirect_uri": BYE},
    )
    assert response.status_code == 303 and response.headers["Location"] == BYE
    check_logout_token(app, rps.next(), rp, id_token)
    assert rps.rest() == []


def test_a_slow_rp_does_not_hold_up_the_sign_out(app, browser, register, rps):
    rp = register(backchannel_logout_uri=rps.uri("slow"))
    rps.gates["/slow"] = gate = threading.Event()
    id_token = id_token_for(app, browser, rp)

    response = sign_out(browser)
    # the person has their answer while the RP has answered nothing yet
    assert response.status_code == 303 and rps.answered == 0
    gate.set()
    check_logout_token(app, rps.next(), rp, id_token)
    assert backchannel.wait_idle(WAIT)
    assert [r.detail["client_id"] for r in audit_rows(app, "delivered")] == [rp.client_id]
    assert audit_rows(app, "failed") == []


def test_an_rp_that_keeps_failing_is_retried_then_given_up(app, browser, register, rps, caplog):
    rp = register(backchannel_logout_uri=rps.uri("broken"))
    rps.status["/broken"] = 500
    id_token_for(app, browser, rp)

    sign_out(browser)
    posts = [rps.next() for _ in range(backchannel.ATTEMPTS)]
    assert len({p.token for p in posts}) == 1  # the same token (same jti) each time
    assert rps.rest() == []  # and then no more
    (failed,) = audit_rows(app, "failed")
    assert failed.detail == {"client_id": rp.client_id, "attempts": 3, "status": 500}
    assert failed.actor == "idp:backchannel_logout" and failed.session_id
    assert audit_rows(app, "delivered") == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "idp.oidc.backchannel"]
    assert any(rp.client_id in m and "HTTP 500" in m for m in warnings)


def test_an_rp_that_refuses_the_token_is_not_asked_again(app, browser, register, rps):
    rp = register(backchannel_logout_uri=rps.uri("refuses"))
    rps.status["/refuses"] = 400  # section 2.8: the RP says the token is not acceptable
    id_token_for(app, browser, rp)

    sign_out(browser)
    rps.next()
    assert rps.rest() == []
    (failed,) = audit_rows(app, "failed")
    assert failed.detail == {"client_id": rp.client_id, "attempts": 1, "status": 400}


def test_an_sm2sm3_client_gets_a_logout_token_gmssl_verifies(app, browser, register, rps):
    app.extensions["idp.keys"].ensure_keys(["SM2SM3"])  # as `idp client create` does
    rp = register(id_token_signed_response_alg="SM2SM3", backchannel_logout_uri=rps.uri("gm"))
    id_token = id_token_for(app, browser, rp)

    sign_out(browser)
    token = rps.next().token
    header, _ = segments(token)
    assert (header["alg"], header["typ"]) == ("SM2SM3", "logout+jwt")
    (key,) = [k for k in jwks(app)["keys"] if k["kid"] == header["kid"]]
    signing_input, _, signature = token.rpartition(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    assert verify_sm2sm3(key, signing_input.encode(), raw)
    issuer = app.extensions["idp.settings"].issuer
    claims = verify_id_token(token, jwks(app), issuer=issuer, client_id=rp.client_id)
    check_claims(claims, id_token)
    assert rps.rest() == []


def another_person(app) -> dict[str, str]:
    data = {"username": "bob", "phone": "17000000102", "password": "lantern-orchard-2026"}
    with app.app_context(), db.transaction() as session:
        data["id"] = context.accounts().create_person(session, **data).id
    return data


def test_only_the_ended_sessions_rps_hear_of_it(app, browser, person, register, rps):
    rp = register(backchannel_logout_uri=rps.uri("social"))
    laptop = id_token_for(app, browser, rp)
    phone_browser = Browser(app.test_client(), person)  # the same person, another session
    phone = id_token_for(app, phone_browser, rp)
    bob = id_token_for(app, Browser(app.test_client(), another_person(app)), rp)
    assert len({laptop["sid"], phone["sid"], bob["sid"]}) == 3

    sign_out(browser)
    check_logout_token(app, rps.next(), rp, laptop)  # the laptop ID token's own sid
    assert rps.rest() == []
    (delivered,) = audit_rows(app, "delivered")
    (ended,) = ended_sessions(app)
    assert delivered.session_id == ended.session_id  # the provider's session id, not the RP's

    # "sign out everywhere else" from a new session ends the phone's, and tells its RP
    desk = Browser(app.test_client(), person)
    desk.sign_in()
    desk.client.post(
        "/account/sessions/end-others", data={"csrf_token": csrf_token(desk.client, "/account")}
    )
    check_logout_token(app, rps.next(), rp, phone)
    assert rps.rest() == []  # nothing for bob's session
    ended_ids = [r.session_id for r in ended_sessions(app)]
    assert [r.session_id for r in audit_rows(app, "delivered")] == ended_ids
    assert len(set(ended_ids)) == 2


def ended_sessions(app) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.event == "person:session:ended")
        return list(db.session.scalars(query.order_by(AuditEvent.seq)))


def test_discovery_says_back_channel_logout_is_supported(app):
    doc = app.test_client().get("/.well-known/openid-configuration").json
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True
