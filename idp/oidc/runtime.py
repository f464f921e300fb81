"""The OpenID provider's per-app parts, looked up from the current app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from flask import current_app

from idp.oidc.artifacts import Artifacts
from idp.oidc.clients import ClientRegistry
from idp.oidc.tokens import TokenIssuer

if TYPE_CHECKING:
    from idp.oidc.server import OidcServer


@dataclass
class Oidc:
    server: OidcServer
    tokens: TokenIssuer
    artifacts: Artifacts
    clients: ClientRegistry
    issuer: str


def oidc() -> Oidc:
    return cast(Oidc, current_app.extensions["idp.oidc"])
