"""An account is being closed: whoever registered to hear it is told (the protocols: every
relying party the person used must learn that the account is gone, not only those with a
live session). Like idp/authn/sign_out.py, so the closure flow knows no protocol."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

from flask import Flask, current_app

KEY = "idp.closure_listeners"


class ClosureListener(Protocol):
    def account_closing(self, person_id: str) -> Callable[[], None]:
        """The account is about to be closed: note whom to tell (before consents and
        tokens go); the callable returned tells them, once the closure has committed."""
        ...


def listen(app: Flask, listener: ClosureListener) -> None:
    app.extensions.setdefault(KEY, []).append(listener)


def listeners() -> list[ClosureListener]:
    return cast(list[ClosureListener], current_app.extensions.get(KEY, []))
