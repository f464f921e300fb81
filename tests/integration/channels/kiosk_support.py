"""Helpers for the kiosk card + face tests: a kiosk client with its own key, playing the
kiosk's software (upload the live frame, assert the card, revoke when the person leaves),
persons of the synthetic registry, and what the provider kept, read back."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import select

from connectors import synthetic
from idp import context
from idp.accounts.models import Person
from idp.accounts.sessions import SsoSession
from idp.audit.models import AuditEvent
from idp.db import db
from idp.oidc.clients import create_client
from idp.oidc.features import JWT_BEARER_GRANT
from tests.integration.oidc.conftest import REDIRECT, Browser, RegisteredClient, redeem
from tests.integration.org_support import create_person

SECTOR = "shebao.example.test"  # the department the web RP and the kiosk both serve
CLIENT_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PASSWORD = "teapot-harbour-2026"
ALIVE = [p for p in synthetic.generate().persons if p.status == "alive"]
ME, SOMEONE_ELSE, STRANGER = ALIVE[12], ALIVE[13], ALIVE[14]


def face_of(who: synthetic.SyntheticPerson, variant: int = 0) -> tuple[str, str]:
    """A live frame of `who`'s face and its liveness token (the synthetic rule)."""
    image = synthetic.face_image(who.photo_template_id, variant)
    return image, synthetic.liveness_token(image)


@dataclass
class Kiosk:
    """A kiosk registered with its key (private_key_jwt), as its software talks to us."""

    app: Flask
    client_id: str
    name: str
    key: ECKey
    kid: str = "kiosk-1"
    sent: list[str] = field(default_factory=list)  # the jtis of its card assertions

    @property
    def issuer(self) -> str:
        return str(self.app.extensions["idp.settings"].issuer)

    def client_assertion(self) -> dict[str, str]:
        """How the kiosk authenticates itself (RFC 7523 2.2), once per request."""
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": f"{self.issuer}/token",
            "jti": secrets.token_urlsafe(12),
            "iat": now,
            "exp": now + 60,
        }
        signed = jwt.encode({"alg": "ES256", "kid": self.kid}, claims, self.key)
        return {"client_assertion_type": CLIENT_ASSERTION, "client_assertion": signed}

    def capture(self, image: str, liveness_token: str) -> str:
        response = self.app.test_client().post(
            "/kiosk/captures",
            data={"image": image, "liveness_token": liveness_token, **self.client_assertion()},
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return str(response.json["capture_id"])

    def card(
        self,
        who: synthetic.SyntheticPerson,
        capture_id: str,
        *,
        key: ECKey | None = None,
        header: dict[str, str] | None = None,
        **claims: Any,
    ) -> str:
        """The assertion of `who`'s card (its number and name) and the capture; `claims`
        replace or add claims, `key` and `header` sign it otherwise."""
        now = int(time.time())
        body = {
            "iss": self.client_id,
            "sub": who.id_number,
            "aud": self.issuer,
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(12),
            "name": who.name,
            "face_capture": capture_id,
            **claims,
        }
        self.sent.append(body["jti"])
        return jwt.encode(header or {"alg": "ES256", "kid": self.kid}, body, key or self.key)

    def token(self, assertion: str, **form: str) -> Any:
        data = {
            "grant_type": JWT_BEARER_GRANT,
            "assertion": assertion,
            "scope": "openid profile",
            **self.client_assertion(),
            **form,
        }
        return self.app.test_client().post("/token", data=data)

    def sign_in(self, who: synthetic.SyntheticPerson, face: synthetic.SyntheticPerson) -> Any:
        """The person `who` puts their card on the reader; `face` looks into the camera."""
        return self.token(self.card(who, self.capture(*face_of(face))))

    def revoke(self, token: str) -> Any:
        data = {"token": token, **self.client_assertion()}
        return self.app.test_client().post("/revoke", data=data)

    def introspect(self, token: str) -> dict[str, Any]:
        data = {"token": token, **self.client_assertion()}
        return dict(self.app.test_client().post("/introspect", data=data).json)


def register_kiosk(app: Flask, **metadata: Any) -> Kiosk:
    key = ECKey.generate_key("P-256")
    fields: dict[str, Any] = {
        "name": "社保自助终端 3号",
        "grant_types": [JWT_BEARER_GRANT],
        "redirect_uris": [],
        "scopes": ["openid", "profile"],
        "channel": "kiosk",
        "sector_identifier": SECTOR,
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [{**key.as_dict(private=False), "kid": "kiosk-1", "alg": "ES256"}]},
        **metadata,
    }
    with app.app_context(), db.transaction() as session:
        new = create_client(session, **fields)
    return Kiosk(app, new.client.client_id, new.client.name, key)


def register_rp(app: Flask, **metadata: Any) -> RegisteredClient:
    """A relying party (by default the department's web RP, sector SECTOR)."""
    fields: dict[str, Any] = {
        "name": "社保网上服务",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code"],
        "scopes": ["openid", "profile"],
        "sector_identifier": SECTOR,
        **metadata,
    }
    with app.app_context(), db.transaction() as session:
        new = create_client(session, **fields)
    return RegisteredClient(new.client.client_id, new.secret, REDIRECT)


def real_named(app: Flask, who: synthetic.SyntheticPerson, phone: str) -> dict[str, str]:
    """An account of `who`, real-named (loa:3) against the registry, that signs in on the web."""
    data = {"username": f"k{phone[-4:]}", "phone": phone, "password": PASSWORD}
    with app.app_context():
        person = create_person(db.session, phone, PASSWORD, who, data["username"])
        db.session.commit()
        data["id"] = person.id
    return data


def web_sub(app: Flask, person: dict[str, str], rp: RegisteredClient) -> str:
    """The `sub` the department's web RP gets for `person`, signed in by password."""
    code, verifier = Browser(app.test_client(), person).code_for(rp)
    return str(
        claims_of(app, redeem(app.test_client(), rp, code, verifier).json["id_token"])["sub"]
    )


def claims_of(app: Flask, token: str) -> dict[str, Any]:
    """The claims of a token we signed, its signature checked with our published keys."""
    keys = KeySet.import_key_set(app.test_client().get("/.well-known/jwks.json").json)
    return dict(jwt.decode(token, keys).claims)


def loa(app: Flask, person_id: str) -> int:
    with app.app_context():
        return db.session.get(Person, person_id).loa


def sessions_of(app: Flask, person_id: str) -> list[SsoSession]:
    with app.app_context():
        return context.sessions().list_for_person(person_id)


def audit(app: Flask, *events: str) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.event.in_(events)).order_by(AuditEvent.id)
        return list(db.session.scalars(query))
