"""Demonstration data (synthetic): the demo person, the demo relying party and the demo
SMS gateway's outbox, for `make run` and the end-to-end tests.

Seeding is idempotent: a second run finds what the first made. The demo relying party
gets its secret through a file in the instance directory (mode 0600), since the secret
is stored only as a hash.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from admin.services.errors import InvalidInputError, UnavailableError, check_actor
from connectors.errors import ConnectorError
from connectors.sms import SmsGateway, SmsMessage, SmsOutbox
from idp.accounts.services import Accounts
from idp.audit import record_event
from idp.audit.events import Event
from idp.oidc.clients import create_client
from idp.oidc.models import Client

DEMO = {
    "username": "demo",
    "phone": "17000000001",
    "password": "lotus-pond-2026",
    "name": "演示用户",
}
DEMO_RP: dict[str, Any] = {
    "client_id": "demo-rp",
    "name": "演示应用（社保查询）",
    "grant_types": ["authorization_code", "refresh_token"],
    "scopes": ["openid", "profile", "phone", "realname", "org", "offline_access"],
}


@dataclass(frozen=True)
class DemoSeed:
    person_created: bool
    demo_rp: str  # "created" or "present"


@dataclass(frozen=True)
class DemoData:
    accounts: Accounts
    session_factory: Callable[[], Session]
    issuer: str
    instance_path: Path

    def seed(self, *, actor: str, rp_url: str) -> DemoSeed:
        """The demo person if missing, and the demo relying party at `rp_url`."""
        check_actor(actor)
        with self.session_factory() as session, session.begin():
            person = self.accounts.find_by_login(session, DEMO["username"])
            created = person is None
            if person is None:
                person = self.accounts.create_person(session, **DEMO)
                record_event(
                    session, Event.person_created, person_id=person.id, actor=actor, channel="admin"
                )
        return DemoSeed(created, self._seed_rp(rp_url.rstrip("/"), actor))

    def _seed_rp(self, rp_url: str, actor: str) -> str:
        """Register the demo relying party again when its secret file is gone or the RP
        or the provider moved; otherwise leave it."""
        target = self.instance_path / "demo_rp.json"
        redirect = f"{rp_url}/callback"
        with self.session_factory() as session, session.begin():
            existing = session.get(Client, DEMO_RP["client_id"])
            if (
                existing is not None
                and target.exists()
                and json.loads(target.read_text()).get("issuer") == self.issuer
                and existing.redirect_uris == [redirect]
                and existing.scopes == DEMO_RP["scopes"]
            ):
                return "present"
            if existing is not None:
                session.delete(existing)
                session.flush()
            new = create_client(
                session,
                redirect_uris=[redirect],
                post_logout_redirect_uris=[f"{rp_url}/"],
                **DEMO_RP,
            )
            record_event(
                session,
                Event.client_created,
                actor=actor,
                channel="admin",
                detail={"client_id": new.client.client_id, "replaced": existing is not None},
            )
        secret = {
            "issuer": self.issuer,
            "client_id": new.client.client_id,
            "client_secret": new.secret,
            "url": rp_url,
        }
        target.write_text(json.dumps(secret))
        target.chmod(0o600)
        return "created"


def sms_outbox(gateway: SmsGateway, phone: str) -> list[SmsMessage]:
    """The text messages the demo SMS gateway "delivered" to `phone` ("": to every
    number), oldest first."""
    if not isinstance(gateway, SmsOutbox):
        raise InvalidInputError(
            "this SMS gateway has no outbox (a real gateway delivers to phones)",
            field="gateway",
            rule="no_outbox",
        )
    try:
        return list(gateway.outbox(phone.strip()))
    except ConnectorError as exc:
        raise UnavailableError(
            f"the SMS gateway did not answer: {exc}", field="gateway", rule="unavailable"
        ) from exc
