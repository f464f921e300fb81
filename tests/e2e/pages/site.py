"""The site the page suite looks at: the demo person (not real-named), a real-named legal
representative with an enterprise (from the registries' synthetic data), people who stand
at one step of an account's life (closing it, asked to accept a newer agreement, with the
official app on a phone), a kiosk that asks for device codes, and the demo RP (registered
at an address where nothing listens: the suite answers for it). The registries and the SMS
gateway are the reference services, as after `make run`: the codes texted to a number are
read from the gateway's outbox."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, insert

from connectors import synthetic
from connectors.sms.govjson import GovJsonSmsGateway
from realname.models import AgreementAcceptance
from tests.e2e import conftest as e2e
from tests.servers import free_port

RP_URL = f"http://127.0.0.1:{free_port()}"  # the demo RP: a page saying "RP" (standing_rp)
REP_PHONE = "17000000901"
REP_PASSWORD = "Pages-e2e-look-2026!"
KEYBOARD_PHONES = ("17000000911", "17000000912")  # one a mode of the keyboard tests
KEYBOARD_PASSWORD = "Pages-e2e-keys-2026!"
# People at one step of an account's life, each their own (so no other page changes):
CLOSING_PHONE = "17000000902"  # asks to close the account (people.py, on first sign-in)
AGREEMENT_PHONE = "17000000903"  # accepted an older agreement than the current one
APP_PHONE = "17000000904"  # real-named, with the official app enrolled on a phone
RECOVER_PHONE = "17000000905"  # sets a new password by a texted code (people.py)
REGISTER_PHONE = "17000000906"  # no account: registers (people.py)
PEOPLE_PASSWORD = "Pages-e2e-life-2026!"
KIOSK = "pages-kiosk"  # a public client with the device grant (RFC 8628)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
LOA_4 = "urn:cn:gov:idp:loa:4"


@dataclass(frozen=True)
class Site(e2e.Provider):
    """The provider (as the e2e conftest's `new_page` needs it) and the legal
    representative who signs in with `rep_phone`."""

    rep_phone: str = REP_PHONE
    rep_password: str = REP_PASSWORD
    enterprise: str = ""  # its name
    sms_url: str = ""  # the reference SMS gateway
    key: bytes = b""  # the reference services' shared key

    def sms_code(self, phone: str) -> str:
        """The code in the last text the gateway "delivered" to `phone`."""
        gateway = GovJsonSmsGateway(self.sms_url, self.key, timeout=3)
        try:
            messages = gateway.outbox(phone)
        finally:
            gateway.close()
        codes = [m.params["code"] for m in messages if m.template == "verification_code"]
        assert codes, f"no code texted to {phone}"
        return codes[-1]

    def user_code(self) -> str:
        """A kiosk's new device authorization request: the code it shows (RFC 8628 3.2)."""
        body = urlencode({"client_id": KIOSK, "scope": "openid profile phone"}).encode()
        with urllib.request.urlopen(f"{self.url}/device_authorization", body, timeout=10) as got:
            return str(json.loads(got.read())["user_code"])


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


def life_people(env: dict[str, str]) -> None:
    """The people at one step of an account's life: closing it, recovering it, with an
    older agreement (version 2025-01 accepted, as by people who registered before
    2026-11), and the app's person, verified at the counter (from the registries'
    synthetic data: not the legal representative); and the kiosk."""
    for phone in (CLOSING_PHONE, RECOVER_PHONE):
        e2e._idp(env, "person", "create", "--phone", phone, "--password", PEOPLE_PASSWORD)
    made = e2e._idp(
        env, "person", "create", "--phone", AGREEMENT_PHONE, "--password", PEOPLE_PASSWORD, "--json"
    )
    engine = create_engine(f"sqlite:///{Path(env['IDP_INSTANCE_DIR']) / 'idp.db'}")
    person_id = json.loads(made)["person"]["id"]
    row = {"person_id": person_id, "kind": "person", "version": "2025-01"}
    with engine.begin() as connection:
        connection.execute(insert(AgreementAcceptance.__table__).values(**row, channel="web"))
    engine.dispose()
    data = synthetic.generate()
    reps = {e.legal_rep_id_number for e in data.enterprises}
    other = next(p for p in data.persons_with("alive") if p.id_number not in reps)
    e2e._idp(
        env,
        *("person", "create", "--phone", APP_PHONE, "--password", PEOPLE_PASSWORD),
        *("--name", other.name, "--id-number", other.id_number),
    )
    e2e._idp(  # seen at the counter: a face check reaches level 4 (a password only 3)
        env,
        *("person", "verify-in-person", APP_PHONE, "--operator", "pages-e2e"),
        *("--name", other.name, "--id-number", other.id_number),
    )
    e2e._idp(
        env,
        *("client", "create", "--client-id", KIOSK, "--name", "社保自助终端"),
        *("--channel", "kiosk", "--grant-type", DEVICE_GRANT, "--grant-type", "refresh_token"),
        *("--token-endpoint-auth-method", "none", "--scope", "openid profile phone"),
    )


def authorize_url(scope: str = "openid profile phone", **extra: str) -> str:
    """A demo RP's authorization request (code flow with PKCE), as the RP would send it;
    `extra` parameters such as acr_values."""
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
        **extra,
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
