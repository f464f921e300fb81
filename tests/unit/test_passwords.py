"""argon2id hashing and the NIST SP 800-63B password rules."""

from __future__ import annotations

import pytest

from idp.crypto.passwords import (
    PasswordHasher,
    PasswordProblem,
    PasswordRejectedError,
    check_new_password,
)

HASHER = PasswordHasher(time_cost=1, memory_kib=8192, parallelism=1)


def test_hash_verifies_only_the_right_password():
    stored = HASHER.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert HASHER.verify(stored, "correct horse battery")
    assert not HASHER.verify(stored, "correct horse batter")
    assert not HASHER.verify(None, "anything")  # unknown account: False, same work
    assert not HASHER.verify("not-a-hash", "anything")


def test_unicode_is_normalised_so_the_same_characters_match():
    stored = HASHER.hash("ｐａｓｓｗｏｒｄ全角密码")  # full-width Latin letters
    assert HASHER.verify(stored, "password全角密码")


def test_no_truncation_of_long_passwords():
    long_password = "密" * 300 + "A"
    stored = HASHER.hash(long_password)
    assert not HASHER.verify(stored, "密" * 300 + "B")


def test_parameter_change_asks_for_rehash():
    stored = HASHER.hash("correct horse battery")
    assert not HASHER.needs_rehash(stored)
    assert PasswordHasher(time_cost=2, memory_kib=8192, parallelism=1).needs_rehash(stored)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("1234567", PasswordProblem.too_short),
        ("密码太短了", PasswordProblem.too_short),
        ("x" * 1025, PasswordProblem.too_long),
        ("password", PasswordProblem.common),
        ("PassWord123", PasswordProblem.common),
        ("woaini1314", PasswordProblem.common),
        ("1qaz2wsx", PasswordProblem.common),
        ("alice-rocks-2026", PasswordProblem.contains_identifier),
        ("my17000000101pw", PasswordProblem.contains_identifier),
    ],
)
def test_refused_passwords_say_why(password, problem):
    with pytest.raises(PasswordRejectedError) as refused:
        check_new_password(password, ("alice", "17000000101"))
    assert refused.value.problem is problem


@pytest.mark.parametrize(
    "password",
    [
        "abcdefgh",  # no composition rules: eight lower-case letters are fine if not common
        "长城长城长城长城",
        "correct horse battery staple",
        "x" * 1024,
    ],
)
def test_accepted_passwords(password):
    check_new_password(password, ("alice", "17000000101"))
