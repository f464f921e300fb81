"""Fixtures for the key ring tests: a migrated SQLite database and a ring on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from idp.db import make_engine
from idp.keys import KeyRing
from migrations import runner
from tests.unit.keys_support import KEK, TTL


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    runner.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def ring(factory: sessionmaker[Session]) -> KeyRing:
    keyring = KeyRing(KEK, factory, max_token_ttl=TTL)
    keyring.ensure_keys()
    keyring.rotate("EdDSA")
    keyring.rotate("SM2SM3")
    return keyring
