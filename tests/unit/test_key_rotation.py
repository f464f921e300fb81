"""Key rotation: live tokens keep verifying, the next key is published before it signs,
keys retire, and several workers (and threads) agree."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import create_engine, event, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from idp.db import make_engine, utcnow
from idp.keys import InvalidTokenError, KeyRing
from idp.keys.models import SigningKey
from migrations import runner
from tests.unit.keys_support import (
    CLAIMS,
    KEK,
    TTL,
    header_of,
    kid_of,
    published,
    verify_with_cryptography,
)


# -- rotation -------------------------------------------------------------------------------
def test_rotation_keeps_live_tokens_verifying_and_signs_with_the_new_key(ring: KeyRing) -> None:
    before = ring.sign(CLAIMS, alg="ES256")
    old = header_of(before)["kid"]
    new = ring.rotate("ES256")
    assert new != old
    assert header_of(ring.sign(CLAIMS, alg="ES256"))["kid"] == new
    assert {old, new} <= set(published(ring))
    assert ring.verify(before, algs=["ES256"]) == CLAIMS
    states = {key["kid"]: key["state"] for key in ring.list_keys()}
    assert states[old] == "retiring" and states[new] == "active"
    assert header_of(ring.sign(CLAIMS, alg="RS256"))["kid"] == kid_of(ring, "RS256")  # untouched


def next_kid(ring: KeyRing, alg: str) -> str:
    (kid,) = [k["kid"] for k in ring.list_keys() if k["alg"] == alg and k["state"] == "next"]
    return kid


def test_the_key_that_becomes_active_was_published_before_it_signed(ring: KeyRing) -> None:
    """An RP that fetched the JWKS before a rotation already holds the new signing key."""
    jwks_before = published(ring)
    waiting = next_kid(ring, "ES256")
    assert waiting in jwks_before and waiting != kid_of(ring, "ES256")
    assert ring.rotate("ES256") == waiting
    token = ring.sign(CLAIMS, alg="ES256")
    assert header_of(token)["kid"] == waiting
    verify_with_cryptography(jwks_before[waiting], token)  # the RP's cached copy verifies
    following = next_kid(ring, "ES256")
    assert following not in jwks_before and following in published(ring)
    assert ring.rotate("ES256") == following


def test_a_next_or_retiring_key_can_be_retired_at_once_but_not_the_active_one(
    ring: KeyRing, factory: sessionmaker[Session]
) -> None:
    token = ring.sign(CLAIMS, alg="ES256")
    old = header_of(token)["kid"]
    ring.rotate("ES256")
    other = KeyRing(KEK, factory, max_token_ttl=TTL)  # another worker, already loaded
    other.verify(token, algs=["ES256"])
    seen: list[str] = []
    ring.retire(old, audit=lambda _session, key: seen.append(key.kid))
    assert seen == [old]
    with pytest.raises(InvalidTokenError, match="retired"):
        ring.verify(token, algs=["ES256"])
    assert old not in published(ring)
    with pytest.raises(ValueError, match="idp keys rotate --alg ES256"):
        ring.retire(kid_of(ring, "ES256"))
    with pytest.raises(ValueError, match="already retired"):
        ring.retire(old)
    with pytest.raises(KeyError):
        ring.retire("no-such-kid")
    waiting = next_kid(ring, "ES256")
    ring.retire(waiting)
    assert waiting not in published(ring)
    assert ring.rotate("ES256") not in (waiting, old)  # a fresh key takes the place


def _age_retiring(factory: sessionmaker[Session], kid: str, seconds: int) -> None:
    with factory.begin() as session:
        session.execute(
            update(SigningKey)
            .where(SigningKey.kid == kid)
            .values(retiring_at=utcnow() - timedelta(seconds=seconds))
        )


def test_a_retired_key_no_longer_verifies_or_is_published(
    ring: KeyRing, factory: sessionmaker[Session]
) -> None:
    token = ring.sign(CLAIMS, alg="RS256")
    old = header_of(token)["kid"]
    ring.rotate("RS256")
    _age_retiring(factory, old, TTL + 1)  # every token it signed has expired
    # another worker refuses it at once, even before anyone marks it retired
    other = KeyRing(KEK, factory, max_token_ttl=TTL)
    with pytest.raises(InvalidTokenError, match="retired"):
        other.verify(token, algs=["RS256"])
    assert old not in published(other)
    assert ring.retire_expired() == [old]
    with pytest.raises(InvalidTokenError, match="retired"):
        ring.verify(token, algs=["RS256"])
    assert old not in published(ring)
    assert {k["kid"]: k["state"] for k in ring.list_keys()}[old] == "retired"


def test_rotation_retires_keys_past_the_longest_token_lifetime(
    ring: KeyRing, factory: sessionmaker[Session]
) -> None:
    first = kid_of(ring, "ES256")
    second = ring.rotate("ES256")
    _age_retiring(factory, first, TTL + 1)
    seen: list[Any] = []
    third = ring.rotate("ES256", audit=lambda _session, rotation: seen.append(rotation))
    assert seen[0].previous == second and seen[0].retired == (first,) and seen[0].kid == third
    assert set(published(ring)) >= {second, third} and first not in published(ring)


def test_a_failed_audit_write_undoes_the_rotation(ring: KeyRing) -> None:
    before = ring.list_keys()

    def broken_audit(_session: Session, _rotation: Any) -> None:
        raise RuntimeError("audit table unavailable")

    with pytest.raises(RuntimeError):
        ring.rotate("ES256", audit=broken_audit)
    assert ring.list_keys() == before


# -- several workers -----------------------------------------------------------------------
def test_another_worker_picks_up_a_rotation_within_its_refresh_interval(
    ring: KeyRing, factory: sessionmaker[Session]
) -> None:
    other = KeyRing(KEK, factory, max_token_ttl=TTL, refresh_seconds=0.1)
    old = kid_of(other, "ES256")
    new = ring.rotate("ES256")
    time.sleep(0.15)
    assert kid_of(other, "ES256") == new
    assert {old, new} <= set(published(other))


def test_a_token_from_a_key_never_seen_verifies_at_once(
    ring: KeyRing, factory: sessionmaker[Session]
) -> None:
    other = KeyRing(KEK, factory, max_token_ttl=TTL, refresh_seconds=3600)
    other.jwks()  # loaded; it would not look again for an hour
    ring.rotate("ES256")  # activates the next key `other` has seen, makes a new next...
    ring.rotate("ES256")  # ...which signs from now on: a kid `other` has never seen
    token = ring.sign(CLAIMS, alg="ES256")
    assert header_of(token)["kid"] not in published(other)
    assert other.verify(token, algs=["ES256"]) == CLAIMS
    assert kid_of(other, "ES256") == header_of(token)["kid"]


def test_garbage_kids_do_not_hammer_the_database(
    ring: KeyRing, factory: sessionmaker[Session], engine: Engine
) -> None:
    other = KeyRing(KEK, factory, max_token_ttl=TTL, refresh_seconds=3600)
    other.jwks()
    queries: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: queries.append(a[2]))
    theirs = ECKey.generate_key("P-256")
    for _ in range(100):
        token = jwt.encode({"alg": "ES256", "kid": uuid.uuid4().hex}, CLAIMS, theirs)
        with pytest.raises(InvalidTokenError, match="unknown key"):
            other.verify(token, algs=["ES256"])
    assert len(queries) <= 2  # one reload in the first second, whatever the flood


def test_signing_goes_on_from_memory_while_the_database_is_away(
    factory: sessionmaker[Session],
) -> None:
    down = threading.Event()

    def flaky() -> Session:
        if down.is_set():
            raise OperationalError("SELECT", {}, Exception("connection refused"))
        return factory()

    keyring = KeyRing(KEK, flaky, max_token_ttl=TTL, refresh_seconds=0.01)
    keyring.ensure_keys()
    down.set()
    time.sleep(0.02)
    token = keyring.sign(CLAIMS, alg="ES256")
    assert keyring.verify(token, algs=["ES256"]) == CLAIMS


def test_threads_sign_and_verify_while_keys_rotate(ring: KeyRing) -> None:
    failures: list[BaseException] = []
    tokens: list[str] = []
    stop = threading.Event()

    def work() -> None:
        try:
            while not stop.is_set():
                token = ring.sign(CLAIMS, alg="ES256")
                assert ring.verify(token, algs=["ES256"]) == CLAIMS
                tokens.append(token)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for _ in range(3):
        ring.rotate("ES256")
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len({header_of(t)["kid"] for t in tokens}) >= 2
    assert all(ring.verify(t, algs=["ES256"]) == CLAIMS for t in tokens)


# -- creating the first keys ------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'race.db'}")
    else:
        server = request.getfixturevalue("postgres_server")
        eng = create_engine(server.create_database(f"k_{uuid.uuid4().hex[:10]}"))
    runner.upgrade(eng)
    yield eng
    eng.dispose()


def test_ensure_keys_is_idempotent_and_safe_when_workers_race(any_engine: Engine) -> None:
    factory = sessionmaker(any_engine, expire_on_commit=False)
    rings = [KeyRing(KEK, factory, max_token_ttl=TTL) for _ in range(4)]
    start = threading.Barrier(len(rings))
    failures: list[BaseException] = []

    def boot(keyring: KeyRing) -> None:
        start.wait()
        try:
            keyring.ensure_keys()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=boot, args=(r,)) for r in rings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    keys = rings[0].list_keys()
    assert sorted((k["alg"], k["state"]) for k in keys) == [
        ("ES256", "active"),
        ("ES256", "next"),
        ("RS256", "active"),
        ("RS256", "next"),
    ]
    rings[0].ensure_keys()
    assert rings[0].list_keys() == keys
    # every worker signs with the one winning key
    active = {k["kid"] for k in keys if k["alg"] == "ES256" and k["state"] == "active"}
    assert {kid_of(r, "ES256") for r in rings} == active
