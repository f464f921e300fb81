"""Changes a person makes to their own account's identifiers: a new user name, a new phone
number, and the erasing of every identifier when the account is closed. Each function takes
the caller's SQLAlchemy session and never commits."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idp.accounts.models import Person
from idp.accounts.services import (
    AccountExistsError,
    Accounts,
    InvalidIdentifierError,
    normalise_phone,
)

# 3 to 64 characters: a letter first, then letters, digits and `_ . -`. A letter first
# means no user name can look like a phone or ID number (both start with a digit), so a
# sign-in identifier always names one kind of thing.
USERNAME = re.compile(r"[a-z][a-z0-9_.-]{2,63}")
# Names people would take for the provider speaking.
RESERVED_USERNAMES = frozenset(
    {"admin", "administrator", "root", "system", "support", "help", "security", "official"}
)
CLOSED = "closed"  # Person.status of a closed account: a tombstone for its audit rows


def check_username(raw: str) -> str:
    """The user name as stored (lower case), or InvalidIdentifierError with the rule it
    breaks: `format` (length, characters, first character), `digits` (it would read as a
    phone or ID number), `reserved`."""
    name = raw.strip().lower()
    if name and name[0].isdigit():
        raise InvalidIdentifierError("username", "digits")
    if not USERNAME.fullmatch(name):
        raise InvalidIdentifierError("username", "format")
    if name in RESERVED_USERNAMES:
        raise InvalidIdentifierError("username", "reserved")
    return name


def set_username(session: Session, person: Person, raw: str) -> str:
    """Give the person a (new) user name; AccountExistsError when another person holds it,
    whatever its case."""
    name = check_username(raw)
    holder = session.scalar(
        select(Person.id).where(func.lower(Person.username) == name, Person.id != person.id)
    )
    if holder is not None:
        raise AccountExistsError("username")
    person.username = name
    session.flush()  # a race with another person taking it surfaces here
    return name


def phone_holder(session: Session, accounts: Accounts, phone: str) -> str | None:
    """The id of the person whose number `phone` (normalised) is, if any."""
    index = accounts.sealer.blind_index("phone", phone)
    return session.scalar(select(Person.id).where(Person.phone_index == index))


def set_phone(session: Session, accounts: Accounts, person: Person, raw: str) -> str:
    """Seal the person's new number and its blind index; it is verified (the caller checked
    a code sent to it). AccountExistsError when it is another person's number."""
    phone = normalise_phone(raw)
    holder = phone_holder(session, accounts, phone)
    if holder is not None and holder != person.id:
        raise AccountExistsError("phone")
    person.phone_index = accounts.sealer.blind_index("phone", phone)
    person.phone_sealed = accounts.sealer.seal(phone, f"persons|phone|{person.id}")
    person.phone_verified = True
    session.flush()
    return phone


def erase_identifiers(person: Person) -> None:
    """What identifies the person goes: phone, ID number, user name, name, and every way to
    sign in. The row stays, closed, so audit rows keep pointing at someone; the phone and
    ID number can register a new account."""
    person.username = None
    person.name = None
    person.phone_sealed = None
    person.phone_index = None
    person.phone_verified = False
    person.id_type = None
    person.id_number_sealed = None
    person.id_number_index = None
    person.loa = 2
    person.status = CLOSED
    person.credentials.clear()


__all__ = [
    "CLOSED",
    "InvalidIdentifierError",
    "check_username",
    "erase_identifiers",
    "phone_holder",
    "set_phone",
    "set_username",
]
