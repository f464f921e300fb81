"""The two ways a connector call fails; nothing else ever escapes a connector.

`ConnectorUnavailable`: we did not get a usable answer, so nothing can be concluded about
the person or enterprise and the caller should say "try again later" and change nothing.
Causes: timeout, connection refused, 5xx or 429, our credentials or signature refused
(401/403, an operator must fix the shared key or clock), an answer without a valid
signature, a stale answer, or an answer we cannot parse.

`ConnectorRejected`: the outside system understood the request and refused it in a way
that is not one of its normal answers (4xx other than 401/403/429: a malformed ID number,
an unknown SMS template, an unknown photo template). Retrying the same request will not help.

Messages never contain the personal data that was sent, so they are safe to log.
"""

from __future__ import annotations

__all__ = ["ConnectorError", "ConnectorRejected", "ConnectorUnavailable"]


class ConnectorError(Exception):
    """Base of both connector failures."""


class ConnectorUnavailable(ConnectorError):
    """No usable answer; try again later. `retry_after` is the service's hint, in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConnectorRejected(ConnectorError):
    """The service refused this request; `code` is its machine-readable reason."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
