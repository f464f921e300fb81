"""Administration: the rules of administrators' actions (admin/services) and the `idp`
command line over them; the admin console and API come later, over the same services."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from admin import commands

    commands.register(app)
