"""The OpenID provider's per-app parts: built once by `init_app`, found by Flask views
through `oidc()`. The grants and the machine-to-machine pipeline never look here: they
hold the server itself (idp/oidc/server.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import Flask, current_app

from config import Settings
from idp.accounts.services import Accounts
from idp.db import Database
from idp.keys import KeyRing
from idp.oidc.artifacts import Artifacts
from idp.oidc.clients import ClientRegistry
from idp.oidc.features import FEATURES, Features
from idp.oidc.server import OidcServer, register_features
from idp.oidc.tokens import TokenIssuer
from idp.store import ArtifactStore


@dataclass
class Oidc:
    server: OidcServer
    tokens: TokenIssuer
    artifacts: Artifacts
    clients: ClientRegistry
    issuer: str


def oidc() -> Oidc:
    return cast(Oidc, current_app.extensions["idp.oidc"])


def init_app(
    app: Flask,
    settings: Settings,
    *,
    keys: KeyRing,
    store: ArtifactStore,
    accounts: Accounts,
    features: Features = FEATURES,
) -> Oidc:
    database: Database = app.extensions["idp.db"]
    artifacts = Artifacts(
        store,
        code_ttl=settings.authorization_code_ttl,
        refresh_ttl=settings.refresh_token_ttl,
        access_ttl=settings.access_token_ttl,
    )
    clients = ClientRegistry(database.factory)
    tokens = TokenIssuer(
        keys=keys,
        artifacts=artifacts,
        accounts=accounts,
        issuer=settings.issuer,
        subject_salt=settings.subject_salt,
        access_ttl=settings.access_token_ttl,
        id_ttl=settings.id_token_ttl,
    )
    server = OidcServer(
        clients=clients,
        artifacts=artifacts,
        tokens=tokens,
        accounts=accounts,
        database=database,
        issuer=settings.issuer,
        features=features,
        sessions=app.extensions.get("idp.sessions"),
    )
    register_features(server, features, store)
    runtime = Oidc(
        server=server, tokens=tokens, artifacts=artifacts, clients=clients, issuer=settings.issuer
    )
    app.extensions["idp.oidc"] = runtime
    return runtime
