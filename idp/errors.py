"""The provider's one error hierarchy.

Each error carries the HTTP status it maps to and whether its message may be shown to the
person (`expose`, true below 500). Pages render these in the person's language; protocol
endpoints render them in their protocol's format.
"""

from __future__ import annotations


class IdpError(Exception):
    status: int = 500
    code: str = "server_error"

    @property
    def expose(self) -> bool:
        return self.status < 500


class ServiceUnavailableError(IdpError):
    """A part we depend on (database, Redis, a registry) did not answer. Retry later."""

    status = 503
    code = "temporarily_unavailable"

    def __init__(self, part: str) -> None:
        super().__init__(f"{part} is unavailable")
        self.part = part


class StoreUnavailableError(ServiceUnavailableError):
    def __init__(self) -> None:
        super().__init__("redis")


class DatabaseUnavailableError(ServiceUnavailableError):
    def __init__(self) -> None:
        super().__init__("database")


class TooManyAttemptsError(IdpError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many attempts")
        self.retry_after = retry_after
