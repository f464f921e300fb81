"""The security headers every answer carries, pages and protocol JSON alike.

They live at the base of the package so that the pages (idp/web/security.py) and the
protocol answers built without Flask (idp/oidc/machine, the published documents of
idp/oidc/endpoints.py) send the same set without one importing the other.
"""

from __future__ import annotations

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def security_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    """The headers every response carries; HSTS only when served over https."""
    headers: tuple[tuple[str, str], ...] = (
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    )
    if secure:
        headers += (("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),)
    return headers
