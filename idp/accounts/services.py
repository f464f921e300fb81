"""Account services: create persons, find them by what they type, set their password.

`Accounts` is built once per app with the password hasher and the PII sealer; every
method takes the SQLAlchemy session of the caller's unit of work and never commits.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from idp.accounts.models import ACTIVE, Credential, Person
from idp.crypto.passwords import PasswordHasher, check_new_password
from idp.crypto.pii import PiiSealer, mask_phone
from idp.db import new_id, utcnow

_PHONE = re.compile(r"1[3-9]\d{9}")
_USERNAME = re.compile(r"[a-z][a-z0-9_.-]{2,63}")


# A person's status, in each DB-API driver's parameter style (sqlite3: qmark; psycopg:
# pyformat).
_STATUS_SQL = {
    "qmark": "SELECT status FROM persons WHERE id = ?",
    "format": "SELECT status FROM persons WHERE id = %s",
    "pyformat": "SELECT status FROM persons WHERE id = %s",
}


class InvalidIdentifierError(ValueError):
    """A username or phone number breaks a format rule (`field`, `rule`)."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class AccountExistsError(Exception):
    """Another person already holds this username or phone number."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} already registered")
        self.field = field


def normalise_phone(raw: str) -> str:
    """Mainland mobile numbers: 11 digits from 13x–19x; `+86`, spaces and dashes allowed."""
    digits = re.sub(r"[\s-]", "", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _PHONE.fullmatch(digits):
        raise InvalidIdentifierError("phone", "format")
    return digits


def normalise_username(raw: str) -> str:
    """3–64 characters, a letter first, then letters, digits, `_ . -`; case-insensitive."""
    name = raw.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InvalidIdentifierError("username", "format")
    return name


_RESIDENT_ID = re.compile(r"\d{17}[\dX]")


def _resident_id(identifier: str) -> str | None:
    """An 18-character resident ID number, upper-cased; None for anything else. The
    format rules live in realname/identifiers.py; this only tells the kinds apart."""
    candidate = identifier.replace(" ", "").upper()
    return candidate if _RESIDENT_ID.fullmatch(candidate) else None


class Accounts:
    def __init__(self, hasher: PasswordHasher, sealer: PiiSealer) -> None:
        self.hasher = hasher
        self.sealer = sealer

    # -- lookups ---------------------------------------------------------------------------
    def find_by_login(self, session: Session, identifier: str) -> Person | None:
        """The person a sign-in identifier names: a phone number, a resident ID number
        (once real-name verified) or a username."""
        identifier = identifier.strip()
        if not identifier.isprintable():  # a NUL (PostgreSQL refuses it) or a control
            return None  # character: no account is named so; never sent to the database
        id_number = _resident_id(identifier)
        if id_number is not None:
            index = self.sealer.blind_index("id:resident", id_number)
            return session.scalar(select(Person).where(Person.id_number_index == index))
        try:
            phone = normalise_phone(identifier)
        except InvalidIdentifierError:
            phone = None
        if phone is not None:
            index = self.sealer.blind_index("phone", phone)
            return session.scalar(select(Person).where(Person.phone_index == index))
        return session.scalar(select(Person).where(Person.username == identifier.lower()))

    def is_active(self, engine: Engine, person_id: str) -> bool:
        """Whether the person exists and is active: one column through the driver's own
        cursor on a pooled connection (the token endpoint asks at every refresh: ~8 us on
        SQLite, against ~80 us through SQLAlchemy's Core and ~130 us through the ORM)."""
        sql = _STATUS_SQL[engine.dialect.paramstyle]  # the drivers we run on (make_engine)
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, (person_id,))
            row = cursor.fetchone()
            cursor.close()
        finally:
            connection.close()  # back to the pool (rolled back there)
        return row is not None and row[0] == ACTIVE

    def phone(self, person: Person) -> str | None:
        if person.phone_sealed is None:
            return None
        return self.sealer.open(person.phone_sealed, f"persons|phone|{person.id}")

    def masked_phone(self, person: Person) -> str | None:
        phone = self.phone(person)
        return mask_phone(phone) if phone else None

    # -- changes ---------------------------------------------------------------------------
    def create_person(
        self,
        session: Session,
        *,
        phone: str,
        password: str,
        username: str | None = None,
        name: str | None = None,
    ) -> Person:
        phone = normalise_phone(phone)
        username = normalise_username(username) if username else None
        check_new_password(password, (username, phone))
        phone_index = self.sealer.blind_index("phone", phone)
        if session.scalar(select(Person.id).where(Person.phone_index == phone_index)):
            raise AccountExistsError("phone")
        if username and session.scalar(select(Person.id).where(Person.username == username)):
            raise AccountExistsError("username")
        person = Person(id=new_id(), username=username, name=name, phone_index=phone_index)
        person.phone_sealed = self.sealer.seal(phone, f"persons|phone|{person.id}")
        person.credentials.append(Credential(type="password", secret=self.hasher.hash(password)))
        session.add(person)
        session.flush()  # surface a unique-constraint race here, inside the caller's unit
        return person

    def check_password(self, person: Person | None, password: str) -> bool:
        """Verify; costs the same whether or not the person or their password exists."""
        credential = person.credential("password") if person is not None else None
        ok = self.hasher.verify(credential.secret if credential else None, password)
        return ok and person is not None and person.active

    def upgrade_password_hash(self, person: Person, password: str) -> bool:
        """After a good sign-in: rehash under the current parameters if they changed."""
        credential = person.credential("password")
        if credential is None:
            return False
        credential.last_used_at = utcnow()
        if self.hasher.needs_rehash(credential.secret):
            credential.secret = self.hasher.hash(password)
            return True
        return False

    def set_password(self, person: Person, password: str) -> None:
        check_new_password(password, (person.username, self.phone(person)))
        credential = person.credential("password")
        if credential is None:
            person.credentials.append(
                Credential(type="password", secret=self.hasher.hash(password))
            )
        else:
            credential.secret = self.hasher.hash(password)
