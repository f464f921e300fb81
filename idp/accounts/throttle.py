"""Sign-in throttling in Redis: consecutive failures per account, failures per address.

An account is blocked after `max_failures` consecutive failures (never more than 100,
NIST SP 800-63B 5.2.2) for `lockout_seconds`; while the failure count stays above the
limit every further failure blocks it again, so an attacker gets one guess per lockout.
A good sign-in resets the count. Unknown accounts are keyed by the identifier typed, so
they block exactly like real ones and reveal nothing.

Every attempt is counted before the password is checked, in one Redis step with the
check for a block, and a success gives its count back: guesses sent at once get no
more tries than guesses sent one after another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from idp.errors import TooManyAttemptsError
from idp.store import ArtifactStore

FAILURE_MEMORY = 86400  # consecutive failures are remembered for a day


def account_key(person_id: str | None, identifier: str) -> str:
    if person_id:
        return f"p:{person_id}"
    return "u:" + hashlib.sha256(identifier.strip().lower().encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Attempt:
    """One counted try: which account, from where, and its number since the last success
    (this one included)."""

    account: str
    address: str | None
    number: int


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

    def attempt(self, account: str, address: str | None) -> Attempt:
        """Count a try before it is judged; raise TooManyAttemptsError if this account or
        address may not try now."""
        verdict, number = self.store.take_attempt(
            ("login-lock", account),
            ("login-failures", account),
            ("login-address", address) if address else None,
            limit=self.max_failures,
            lock_ttl=self.lockout,
            memory=FAILURE_MEMORY,
            address_limit=self.address_max,
            address_window=self.address_window,
        )
        if verdict != "ok":
            raise TooManyAttemptsError(number)
        return Attempt(account, address, number)

    def failed(self, attempt: Attempt) -> bool:
        """The try was wrong; True when it blocks the account (the block is already set:
        the try that reaches the limit sets it as it is counted)."""
        return attempt.number >= self.max_failures

    def succeeded(self, attempt: Attempt) -> None:
        """The try was right: the account's count starts again and the address gets its
        try back."""
        self.unblock(attempt.account)
        if attempt.address:
            self.store.decrement("login-address", attempt.address)

    def unblock(self, account: str) -> None:
        self.store.reset("login-failures", account)
        self.store.destroy("login-lock", account)
