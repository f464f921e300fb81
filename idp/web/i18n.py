"""Which language a page speaks: `?lang=` (remembered in a cookie), then the cookie, then
the browser's Accept-Language, then the configured default. Chinese first."""

from __future__ import annotations

from flask import Response, g, request

from idp import context

LOCALES = ("zh", "en")
LANG_COOKIE = "idp_lang"
MODE_COOKIE = "idp_mode"  # 适老化: "large" turns on large text and high contrast


def select_locale() -> str:
    asked = request.args.get("lang")
    if asked in LOCALES:
        g.remember_lang = asked
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LOCALES:
        return cookie
    return request.accept_languages.best_match(LOCALES) or context.settings().default_locale


def display_mode() -> str:
    asked = request.args.get("mode")
    if asked in ("large", "standard"):
        g.remember_mode = asked
        return asked
    return "large" if request.cookies.get(MODE_COOKIE) == "large" else "standard"


def remember_choices(response: Response) -> Response:
    if "remember_lang" not in g and "remember_mode" not in g:
        return response
    secure = context.settings().secure_cookies
    for attr, name in (("remember_lang", LANG_COOKIE), ("remember_mode", MODE_COOKIE)):
        value = g.get(attr)
        if value:
            response.set_cookie(
                name, value, max_age=365 * 86400, httponly=True, samesite="Lax", secure=secure
            )
    return response
