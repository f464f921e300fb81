"""Password hashing with argon2id, and the password rules of NIST SP 800-63B.

Passwords are NFKC-normalised before hashing (SP 800-63B 5.1.1.2) so that the same
characters typed on two keyboards match; they are never truncated. A hash made with
older parameters verifies and reports `needs_rehash`, so it is upgraded on the next good
sign-in.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from functools import cache
from importlib import resources

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
MAX_LENGTH = 1024  # far above the 64 SP 800-63B asks for; bounds hashing work per request


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


class PasswordHasher:
    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._argon2 = _Argon2(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        # Verified against when the account is unknown, so both paths cost the same.
        self._dummy = self._argon2.hash("unknown-account-timing-equaliser")

    def hash(self, password: str) -> str:
        return self._argon2.hash(normalise(password))

    def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`; does the same work when `stored` is None."""
        try:
            return self._argon2.verify(stored or self._dummy, normalise(password)) and bool(stored)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._argon2.check_needs_rehash(stored)


class PasswordProblem(StrEnum):
    too_short = "too_short"
    too_long = "too_long"
    common = "common"
    contains_identifier = "contains_identifier"


class PasswordRejectedError(ValueError):
    def __init__(self, problem: PasswordProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("idp.crypto").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def check_new_password(password: str, identifiers: tuple[str | None, ...] = ()) -> None:
    """Raise PasswordRejectedError if `password` may not be chosen. No composition rules."""
    normalised = normalise(password)
    if len(normalised) < MIN_LENGTH:
        raise PasswordRejectedError(PasswordProblem.too_short)
    if len(normalised) > MAX_LENGTH:
        raise PasswordRejectedError(PasswordProblem.too_long)
    folded = normalised.casefold()
    if folded in _common_passwords():
        raise PasswordRejectedError(PasswordProblem.common)
    for ident in identifiers:
        if ident and len(ident) >= 4 and ident.casefold() in folded:
            raise PasswordRejectedError(PasswordProblem.contains_identifier)
