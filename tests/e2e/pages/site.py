"""The site the page suite looks at: the demo person (not real-named), a real-named legal
representative with an enterprise (from the fake registries' synthetic data) and the
demo RP (registered at an address where nothing listens: the suite answers for it)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

from connectors import synthetic
from tests.e2e import conftest as e2e
from tests.servers import free_port

RP_URL = f"http://127.0.0.1:{free_port()}"  # the demo RP: a page saying "RP" (standing_rp)
REP_PHONE = "17000000901"
REP_PASSWORD = "Pages-e2e-look-2026!"
KEYBOARD_PHONES = ("17000000911", "17000000912")  # one a mode of the keyboard tests
KEYBOARD_PASSWORD = "Pages-e2e-keys-2026!"


@dataclass(frozen=True)
class Site(e2e.Provider):
    """The provider (as the e2e conftest's `new_page` needs it) and the legal
    representative who signs in with `rep_phone`."""

    rep_phone: str = REP_PHONE
    rep_password: str = REP_PASSWORD
    enterprise: str = ""  # its name


def legal_representative(env: dict[str, str]) -> str:
    """A real-named person (from the fake registries' synthetic data) and the enterprise
    they represent, registered at the counter; the enterprise's name."""
    data = synthetic.generate()
    alive = {p.id_number: p for p in data.persons_with("alive")}
    enterprise = next(e for e in data.enterprises_with("active") if e.legal_rep_id_number in alive)
    rep = alive[enterprise.legal_rep_id_number]
    e2e._idp(
        env,
        *("person", "create", "--phone", REP_PHONE, "--password", REP_PASSWORD),
        *("--name", rep.name, "--id-number", rep.id_number, "--json"),
    )
    e2e._idp(
        env,
        *("org", "create", "--uscc", enterprise.uscc, "--name", enterprise.name),
        *("--legal-rep-id-number", rep.id_number),
    )
    return enterprise.name


def keyboard_people(env: dict[str, str]) -> None:
    """People who only ever use the keyboard (and change their password)."""
    for phone in KEYBOARD_PHONES:
        e2e._idp(env, "person", "create", "--phone", phone, "--password", KEYBOARD_PASSWORD)


def authorize_url(scope: str = "openid profile phone") -> str:
    """A demo RP's authorization request (code flow with PKCE), as the RP would send it."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "client_id": "demo-rp",
        "response_type": "code",
        "redirect_uri": f"{RP_URL}/callback",
        "scope": scope,
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    return f"/authorize?{urlencode(query)}"


class _Arrived(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"RP")

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def standing_rp() -> Iterator[None]:
    """Where the demo RP is registered, a page that says "RP": the suite only needs the
    person to arrive back at the service."""
    server = ThreadingHTTPServer(("127.0.0.1", int(RP_URL.rsplit(":", 1)[1])), _Arrived)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
