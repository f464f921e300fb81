"""Fixtures for the OpenID provider tests: registered clients and a signed-in browser."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from idp.db import db
from idp.oidc.clients import create_client
from tests.helpers import csrf_token, sign_in

REDIRECT = "https://rp.example.test/callback"


@dataclass
class RegisteredClient:
    client_id: str
    secret: str | None
    redirect_uri: str

    @property
    def basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.fixture
def register(app):
    def make(**metadata: Any) -> RegisteredClient:
        metadata.setdefault("name", "社保系统")
        metadata.setdefault("redirect_uris", [REDIRECT])
        metadata.setdefault("grant_types", ["authorization_code", "refresh_token"])
        metadata.setdefault("scopes", ["openid", "profile", "phone", "offline_access"])
        with app.app_context(), db.transaction() as session:
            new = create_client(session, **metadata)
            return RegisteredClient(
                new.client.client_id,
                new.secret,
                new.client.redirect_uris[0] if new.client.redirect_uris else "",
            )

    return make


@pytest.fixture
def rp(register) -> RegisteredClient:
    return register()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def form_of(html: str) -> tuple[str, str]:
    """A page's form: its `action` and its `csrf_token`."""
    action = html.split('action="')[1].split('"')[0]
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    return action, token


class Browser:
    """A person's browser: signs in and follows the provider's pages to the RP redirect."""

    def __init__(self, client: Any, person: dict[str, str]) -> None:
        self.client = client
        self.person = person
        self.act_for_page: str | None = None

    def sign_in(self) -> None:
        assert (
            sign_in(self.client, self.person["username"], self.person["password"]).status_code
            == 303
        )

    def open_authorize(self, rp: RegisteredClient, **params: str) -> Any:
        """GET /authorize for `rp`'s code flow with `params`; the first response, not followed."""
        query = {
            "response_type": "code",
            "client_id": rp.client_id,
            "redirect_uri": rp.redirect_uri,
        }
        return self.client.get("/authorize", query_string={**query, **params})

    def open_step(self, rp: RegisteredClient, **params: str) -> Any:
        """GET /authorize for a person signed in already, who has a step to take (act-for,
        consent): the step's page, which is never drawn at /authorize but at /signin/<id>
        (Back from the service then finds the step done, not the request sent again)."""
        response = self.open_authorize(rp, **params)
        location = response.headers.get("Location", "")
        assert response.status_code == 303 and location.startswith("/signin/"), (
            response.status_code,
            location,
        )
        return self.client.get(location)

    def authorize(
        self, rp: RegisteredClient, *, consent: str = "allow", act_for: str = "self", **params: str
    ) -> Any:
        """Run /authorize to the end; return the final response (a redirect to the RP or a
        page). Signs in when asked to, answers consent with `consent`."""
        query = {"scope": "openid", "state": "st-123", "nonce": "n-456", **params}
        response = self.open_authorize(rp, **query)
        for _ in range(5):
            location = response.headers.get("Location", "")
            if response.status_code in (302, 303) and location.startswith("/login"):
                txn_id = query_of(location)["txn"]  # the sign-in form carries it back
                token = csrf_token(self.client, location)
                response = self.client.post(
                    "/login",
                    data={
                        "username": self.person["username"],
                        "password": self.person["password"],
                        "csrf_token": token,
                        "txn": txn_id,
                    },
                )
                assert response.status_code == 303, response.status_code
                if response.headers["Location"].startswith("/"):  # a page still to show
                    response = self.client.get(response.headers["Location"])
                continue
            if response.status_code in (302, 303) and location.startswith("/signin/"):
                response = self.client.get(location)  # a page still to show, after a form
                continue
            if response.status_code == 200 and b'name="act_for"' in response.data:
                html = response.get_data(as_text=True)
                self.act_for_page = html
                action, token = form_of(html)
                response = self.client.post(
                    action, data={"csrf_token": token, "act_for": act_for, "decision": "continue"}
                )
                continue
            if response.status_code == 200 and b'name="decision"' in response.data:
                action, token = form_of(response.get_data(as_text=True))
                response = self.client.post(action, data={"csrf_token": token, "decision": consent})
                continue
            return response
        raise AssertionError("authorization did not finish")

    def code_for(self, rp: RegisteredClient, **params: str) -> tuple[str, str]:
        """A code and its PKCE verifier."""
        verifier, challenge = pkce()
        response = self.authorize(
            rp, code_challenge=challenge, code_challenge_method="S256", **params
        )
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        q = query_of(response.headers["Location"])
        assert "code" in q, q
        return q["code"], verifier


@pytest.fixture
def browser(app, person) -> Browser:
    return Browser(app.test_client(), person)


def redeem(
    client: Any,
    rp: RegisteredClient,
    code: str,
    verifier: str | None,
    redirect_uri: str | None = None,
) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri or rp.redirect_uri,
    }
    if verifier:
        data["code_verifier"] = verifier
    headers = rp.basic if rp.secret else {}
    if not rp.secret:
        data["client_id"] = rp.client_id
    return client.post("/token", data=data, headers=headers)
