"""What ends with a session, told to whoever registered to hear it.

Sign-out (idp/flows/logout.py) ends the SSO session and writes its audit row; what the
protocols gave out in that session (OIDC grants, back-channel logout; later SAML
sessions) is theirs to end. Each protocol registers a `SignOutListener` when the app is
built, so the flow calls them without knowing them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

from flask import Flask, current_app

KEY = "idp.sign_out_listeners"


@dataclass(frozen=True)
class Ending:
    revoked: int  # grants ended
    after_commit: Callable[[], None]  # to run once the sign-out is committed (notices)


class SignOutListener(Protocol):
    def session_ending(self, session_id: str) -> Ending:
        """The session is ending: end what was given out in it."""
        ...

    def person_ending(self, person_id: str, keep_session: str | None) -> int:
        """Every token of the person ends but those of `keep_session`; returns how many
        grants ended."""
        ...


def listen(app: Flask, listener: SignOutListener) -> None:
    app.extensions.setdefault(KEY, []).append(listener)


def listeners() -> list[SignOutListener]:
    return cast(list[SignOutListener], current_app.extensions.get(KEY, []))
