"""Sign-in throttling in Redis: consecutive failures per account, failures per address.

An account is blocked after `max_failures` consecutive failures (never more than 100,
NIST SP 800-63B 5.2.2) for `lockout_seconds`; while the failure count stays above the
limit every further failure blocks it again, so an attacker gets one guess per lockout.
A good sign-in resets the count. Unknown accounts are keyed by the identifier typed, so
they block exactly like real ones and reveal nothing.
"""

from __future__ import annotations

import hashlib

from idp.errors import TooManyAttemptsError
from idp.store import ArtifactStore

FAILURE_MEMORY = 86400  # consecutive failures are remembered for a day


def account_key(person_id: str | None, identifier: str) -> str:
    if person_id:
        return f"p:{person_id}"
    return "u:" + hashlib.sha256(identifier.strip().lower().encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(
        self,
        store: ArtifactStore,
        *,
        max_failures: int,
        lockout_seconds: int,
        address_max_failures: int,
        address_window: int,
    ) -> None:
        if max_failures > 100:
            raise ValueError("NIST SP 800-63B allows at most 100 consecutive failures")
        self.store = store
        self.max_failures = max_failures
        self.lockout = lockout_seconds
        self.address_max = address_max_failures
        self.address_window = address_window

    def check(self, account: str, address: str | None) -> None:
        """Raise TooManyAttemptsError if this account or address may not try now."""
        lock, failures = self.store.find_and_count(
            "login-lock", account, "login-address", address or ""
        )
        if lock is not None:
            raise TooManyAttemptsError(self.store.ttl("login-lock", account))
        if address and failures >= self.address_max:
            raise TooManyAttemptsError(self.store.ttl("login-address", address))

    def failed(self, account: str, address: str | None) -> bool:
        """Count a failure; True when this failure blocks the account."""
        if address:
            self.store.incr("login-address", address, self.address_window)
        failures = self.store.incr("login-failures", account, FAILURE_MEMORY)
        if failures >= self.max_failures:
            self.store.upsert("login-lock", account, {"failures": failures}, self.lockout)
            return True
        return False

    def succeeded(self, account: str) -> None:
        self.store.reset("login-failures", account)

    def unblock(self, account: str) -> None:
        self.store.reset("login-failures", account)
        self.store.destroy("login-lock", account)
