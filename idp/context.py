"""The per-app services, looked up from the current app (set up once by `app.create_app`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import current_app

from config import Settings
from connectors.enterprise import EnterpriseRegistry
from connectors.face import FaceVerifier
from connectors.population import PopulationRegistry
from connectors.sms import SmsGateway
from idp.accounts.services import Accounts
from idp.accounts.sessions import SessionStore
from idp.accounts.throttle import LoginThrottle
from idp.store import ArtifactStore


def settings() -> Settings:
    return cast(Settings, current_app.extensions["idp.settings"])


def store() -> ArtifactStore:
    return cast(ArtifactStore, current_app.extensions["idp.store"])


def accounts() -> Accounts:
    return cast(Accounts, current_app.extensions["idp.accounts"])


def sessions() -> SessionStore:
    return cast(SessionStore, current_app.extensions["idp.sessions"])


@dataclass(frozen=True)
class Connectors:
    """The outside systems, as interfaces; which implementation is configuration's choice."""

    population: PopulationRegistry
    enterprise: EnterpriseRegistry
    sms: SmsGateway
    face: FaceVerifier


def connectors() -> Connectors:
    return cast(Connectors, current_app.extensions["idp.connectors"])


def login_throttle() -> LoginThrottle:
    return cast(LoginThrottle, current_app.extensions["idp.throttle"])
