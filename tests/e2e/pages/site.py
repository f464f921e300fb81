"""The site the page suite looks at: the demo person (not real-named), a real-named legal
representative with an enterprise (from the fake registries' synthetic data) and the
demo RP (registered at an address where nothing listens: the suite answers for it)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from connectors import synthetic
from tests.e2e import conftest as e2e

RP_URL = "http://127.0.0.1:9"  # the demo RP's registered address; nothing listens there
REP_PHONE = "17000000901"
REP_PASSWORD = "Pages-e2e-look-2026!"


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
