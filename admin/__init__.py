"""Administration: the `idp` command line now; the admin console and API come later."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from admin import commands

    commands.register(app)
