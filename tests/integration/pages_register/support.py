"""Driving the registration and recovery pages as a browser does: forms with CSRF tokens,
redirects followed by GET, the SMS outbox, and the one-code-a-minute wait cut short."""

from __future__ import annotations

import re
from typing import Any

from idp import context
from idp.accounts import sms_codes
from tests.helpers import csrf_token

PASSWORD = "plum-blossom-river-88"


def texts_to(app, phone: str) -> list:
    with app.app_context():
        return context.connectors().sms.outbox(phone)


def code_sent(app, phone: str) -> str:
    return texts_to(app, phone)[-1].params["code"]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def post(client, path: str, token_from: str | None = None, **data: Any):
    return client.post(path, data={"csrf_token": csrf_token(client, token_from or path), **data})


def page_after(client, response) -> str:
    """The page the POST's redirect leads to (every POST answers with one)."""
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return client.get(response.headers["Location"]).get_data(as_text=True)


def minute_passes(app, phone: str) -> None:
    """The one-code-a-minute wait for `phone` is over (the hourly counts stay)."""
    with app.app_context():
        context.store().destroy("sms-recent", sms_codes._phone_key(phone))


def tag(html: str, name: str, tag_name: str = "input") -> str:
    """The element with id `name`."""
    found = re.search(rf'<{tag_name} id="{name}"[^>]*>', html)
    assert found, f"no {tag_name} {name}"
    return found.group(0)


def summary(html: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    return found.group(0) if found else ""
