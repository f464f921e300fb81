"""Helpers for driving the pages as a browser would (form fields, CSRF, cookies)."""

from __future__ import annotations

import re
from typing import Any

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: Any, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: Any, username: str, password: str, **extra: str) -> Any:
    token = csrf_token(client, "/login?switch=1")  # renders the form even when signed in
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token, **extra}
    )


def cookie(client: Any, name: str) -> str | None:
    found = client.get_cookie(name)
    return found.value if found else None
