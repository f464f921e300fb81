"""The pipeline's answers, as WSGI wants them: a status line, headers, one body.

Every answer is JSON (RFC 6749 5.1 and 5.2), never cached (`Cache-Control: no-store`,
`Pragma: no-cache`), and carries the security headers every page carries (idp/headers.py).
Failures that are not OAuth errors (a method the endpoint does not take, a body over the
limit, Redis or the database down, a bug) are answered in the same format, as Flask's
error handlers answer them at the other protocol endpoints (idp/web/errors.py): an
`error` and an English `error_description`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from werkzeug.http import HTTP_STATUS_CODES

from idp.headers import security_headers
from idp.oidc.parameters import DESCRIPTION_CHARS

NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
JSON_TYPE = ("Content-Type", "application/json")
ALLOWED_METHODS = "OPTIONS, POST"
NOT_IN_DESCRIPTION = re.compile(f"[^{DESCRIPTION_CHARS}]")
RETRY_AFTER = "30"  # seconds, for an outage (idp/web/errors.py says the same to pages)

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Answer:
    status: str  # the WSGI status line
    headers: Headers
    body: bytes


class Answers:
    """Builds answers for one app (`secure`: served over https, so HSTS too)."""

    def __init__(self, secure: bool) -> None:
        self.defaults = security_headers(secure)
        self._built: dict[tuple[tuple[str, str], ...], Headers] = {}

    def json(self, status: int, payload: Any, headers: Headers) -> Answer:
        """An endpoint's or an OAuth error's (status, payload, headers), as Authlib gives it.
        Keys sorted, ASCII only: what Flask's JSON provider wrote."""
        body = json.dumps(payload, ensure_ascii=True, sort_keys=True).encode()
        out = [*self._headers(headers), ("Content-Length", str(len(body)))]
        return Answer(_status_line(status), out, body)

    def refusal(
        self, status: int, error: str, description: str, extra: Headers | None = None
    ) -> Answer:
        """An OAuth error for a failure Authlib never saw (405, 413, 503, 500)."""
        payload = {"error": error, "error_description": NOT_IN_DESCRIPTION.sub("", description)}
        headers = [JSON_TYPE, *NO_STORE, *(extra or [])]
        if status == 503:
            headers.append(("Retry-After", RETRY_AFTER))
        return self.json(status, payload, headers)

    def method_not_allowed(self, method: str) -> Answer:
        return self.refusal(
            405, "invalid_request", f"{method} is not allowed here", [("Allow", ALLOWED_METHODS)]
        )

    def options(self) -> Answer:
        """OPTIONS: which methods the endpoint takes, and nothing else."""
        headers = [("Allow", ALLOWED_METHODS), *self.defaults, NO_STORE[0]]
        return Answer(_status_line(200), [*headers, ("Content-Length", "0")], b"")

    def _headers(self, given: Headers) -> Headers:
        """`given`, never cached, then the security headers it lacks. Authlib gives a
        handful of distinct header sets, so each is built once."""
        key = tuple(given)
        built = self._built.get(key)
        if built is None:
            store = dict(NO_STORE)
            built = [(name, store.pop(name, value)) for name, value in given]
            built += list(store.items())
            present = {name.lower() for name, _value in built}
            built += [(name, value) for name, value in self.defaults if name.lower() not in present]
            if len(self._built) < 64:  # WWW-Authenticate may quote a description
                self._built[key] = built
        return built


def _status_line(status: int) -> str:
    return f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN').upper()}"
