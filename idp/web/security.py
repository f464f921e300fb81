"""Who is signed in (the SSO cookie), security headers on every response, safe redirects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Response, g, redirect, request, url_for
from werkzeug.datastructures import Headers

from idp import context
from idp.headers import CSP, security_headers

SSO_COOKIE = "idp_sid"
# Relying parties call these endpoints with no cookies and never see a page: they skip
# the SSO cookie lookup and Vary: Cookie (idp/oidc/endpoints.py).
API_BLUEPRINT = "oidc"

# built once, keyed by `secure_cookies`
_STATIC_HEADERS = {secure: security_headers(secure) for secure in (False, True)}
_HEADERS = {
    secure: (*security_headers(secure), ("Cache-Control", "no-store")) for secure in (False, True)
}


def load_sso_session() -> None:
    g.sso = None
    if request.endpoint == "static" or request.blueprint == API_BLUEPRINT:
        return
    token = request.cookies.get(SSO_COOKIE)
    if token:
        g.sso = context.sessions().resolve(token)
        if g.sso is None:
            g.clear_sso_cookie = True


def start_sso_cookie(token: str) -> None:
    g.new_sso_token = token


def end_sso_cookie() -> None:
    g.clear_sso_cookie = True


def allow_frames(origins: Iterable[str]) -> None:
    """This page embeds pages of these origins (the RPs' front-channel logout iframes on
    the signed-out page): its CSP allows them as frames, and only them, on this response."""
    g.frame_origins = sorted(set(origins))


def apply_cookies_and_headers(response: Response) -> Response:
    settings = context.settings()
    token = g.get("new_sso_token")
    if token:
        response.set_cookie(
            SSO_COOKIE,
            token,
            httponly=True,
            samesite="Lax",
            secure=settings.secure_cookies,
            path="/",
        )
    elif g.get("clear_sso_cookie"):
        response.delete_cookie(
            SSO_COOKIE, httponly=True, samesite="Lax", secure=settings.secure_cookies, path="/"
        )
    headers = response.headers
    if request.endpoint == "static":
        _add_missing(headers, _STATIC_HEADERS[settings.secure_cookies])
        return response
    if g.get("frame_origins"):
        headers["Content-Security-Policy"] = f"{CSP}; frame-src {' '.join(g.frame_origins)}"
    _add_missing(headers, _HEADERS[settings.secure_cookies])
    if request.blueprint != API_BLUEPRINT:
        headers.add("Vary", "Cookie")
    return response


def _add_missing(headers: Headers, defaults: tuple[tuple[str, str], ...]) -> None:
    """setdefault for each of `defaults`, in one pass over the response's headers."""
    present = {name.lower() for name, _value in headers.items()}
    headers.extend([(name, value) for name, value in defaults if name.lower() not in present])


def safe_next(target: str | None) -> str | None:
    """Only same-site paths may be a post-sign-in destination (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 0x20 for c in target):
        return None
    return target


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("sso") is None:
            return redirect(url_for("web.login_form", next=request.full_path.rstrip("?")), 303)
        return view(*args, **kwargs)

    return wrapper
