"""Sign-in throttling in Redis: consecutive failures per account, failures per address.

An account is blocked after `max_failures` consecutive failures (never more than 100,
NIST SP 800-63B 5.2.2) for `lockout_seconds`; while the failure count stays above the
limit every further failure blocks it again, so an attacker gets one guess per lockout.
A good sign-in resets the count. Unknown accounts are keyed by the identifier typed, so
they block exactly like real ones and reveal nothing.

Every attempt is counted before the password is checked, in one Redis step with the
check for a block, and a success gives its count back: guesses sent at once get no
more tries than guesses sent one after another. The address is counted first and the
account second, each in its own step (their keys live in different Redis Cluster
slots); an attempt the account refuses gives the address its count back, so between
the two steps an address may look one try busier than it is, never less.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from idp.errors import TooManyAttemptsError
from idp.store import ArtifactStore, key

FAILURE_MEMORY = 86400  # consecutive failures are remembered for a day

# Count an attempt from an address unless it has used up its window (KEYS[1] the counter;
# ARGV: limit, window seconds). {1, number of this attempt} or {0, seconds left}.
_ADDRESS = """
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then
  return {0, redis.call('TTL', KEYS[1])}
end
local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return {1, n}
"""
# Count an attempt at an account unless it is blocked (KEYS: block, failures; ARGV: limit,
# block seconds, failure memory). The attempt that reaches the limit sets the block itself,
# before it is even judged: of many sent at once, no more than the limit get through, and
# after a block only one at a time. {1, number of this attempt} or {0, seconds left}.
_ACCOUNT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, redis.call('TTL', KEYS[1])} end
local n = redis.call('INCR', KEYS[2])
if redis.call('TTL', KEYS[2]) < 0 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
if n >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], cjson.encode({failures = n}), 'EX', ARGV[2])
end
return {1, n}
"""


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
        if address:
            counted, number = self.store.run(
                _ADDRESS,
                [key("login-address", address)],
                [self.address_max, self.address_window],
            )
            if not counted:
                raise TooManyAttemptsError(max(int(number), 0))
        counted, number = self.store.run(
            _ACCOUNT,
            [key("login-lock", account), key("login-failures", account)],
            [self.max_failures, self.lockout, FAILURE_MEMORY],
        )
        if not counted:
            if address:
                self.store.decrement("login-address", address)
            raise TooManyAttemptsError(max(int(number), 0))
        return Attempt(account, address, int(number))

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
