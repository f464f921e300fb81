"""The key ring: tokens RPs can verify with the published JWKS, forgeries refused, keys
sealed at rest, rotation that never breaks a live token, and several workers that agree."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import create_engine, event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from examples.verify_sm2_id_token import verify_sm2sm3
from idp.crypto.sealing import SealError, open_sealed
from idp.db import make_engine, utcnow
from idp.keys import InvalidTokenError, KeyRing, NoActiveKeyError
from idp.keys.models import SigningKey
from migrations import runner

KEK = os.urandom(16)
TTL = 600
CLAIMS = {"iss": "https://idp.example.gov.cn", "sub": "p-1", "aud": "rp-1", "exp": 2000000000}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def header_of(token: str) -> dict[str, Any]:
    return json.loads(unb64url(token.split(".")[0]))


def forge(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token with any header; the signature is whatever the attacker could make."""
    head = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    return head + "." + b64url(signature)


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


def kid_of(ring: KeyRing, alg: str) -> str:
    return header_of(ring.sign({}, alg=alg))["kid"]


def published(ring: KeyRing) -> dict[str, dict[str, Any]]:
    return {key["kid"]: key for key in ring.jwks()["keys"]}


# -- signing and verifying ----------------------------------------------------------------
@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA", "SM2SM3"])
def test_each_algorithm_signs_tokens_that_verify(ring: KeyRing, alg: str) -> None:
    token = ring.sign(CLAIMS, alg=alg, typ="at+jwt")
    header = header_of(token)
    assert header == {"alg": alg, "kid": header["kid"], "typ": "at+jwt"}
    assert published(ring)[header["kid"]]["alg"] == alg
    assert ring.verify(token, algs=[alg], typ="at+jwt") == CLAIMS
    assert "typ" not in header_of(ring.sign(CLAIMS, alg=alg))


def _rfc7638(jwk: dict[str, Any]) -> str:
    members = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
    required = {name: jwk[name] for name in members[jwk["kty"]]}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True).encode()
    return b64url(hashlib.sha256(canonical).digest())


def _verify_with_cryptography(jwk: dict[str, Any], token: str) -> None:
    """What an RP does with our JWKS, written against `cryptography` alone."""
    head, payload, sig = token.split(".")
    message, signature = f"{head}.{payload}".encode(), unb64url(sig)
    number = lambda name: int.from_bytes(unb64url(jwk[name]), "big")  # noqa: E731
    if jwk["kty"] == "RSA":
        key = rsa.RSAPublicNumbers(number("e"), number("n")).public_key()
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    elif jwk["kty"] == "EC" and jwk["crv"] == "SM2":  # 国密: with gmssl, as an RP would
        assert verify_sm2sm3(jwk, message, signature), "SM2 signature does not verify"
    elif jwk["kty"] == "EC":
        point = ec.EllipticCurvePublicNumbers(number("x"), number("y"), ec.SECP256R1())
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        der = encode_dss_signature(r, s)
        point.public_key().verify(der, message, ec.ECDSA(hashes.SHA256()))
    else:
        Ed25519PublicKey.from_public_bytes(unb64url(jwk["x"])).verify(signature, message)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA", "SM2SM3"])
def test_relying_parties_verify_our_tokens_with_the_published_jwks_alone(
    ring: KeyRing, alg: str
) -> None:
    token = ring.sign(CLAIMS, alg=alg)
    jwk = published(ring)[header_of(token)["kid"]]
    assert jwk["use"] == "sig" and jwk["alg"] == alg
    assert jwk["kid"] == _rfc7638(jwk)
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)  # nothing private is published
    _verify_with_cryptography(jwk, token)  # raises InvalidSignature if not standard
    assert json.loads(unb64url(token.split(".")[1])) == CLAIMS


def test_signing_with_an_algorithm_that_has_no_active_key_says_what_to_do(
    factory: sessionmaker[Session],
) -> None:
    keyring = KeyRing(KEK, factory, max_token_ttl=TTL)
    keyring.ensure_keys()
    with pytest.raises(KeyError) as caught:
        keyring.sign(CLAIMS, alg="EdDSA")
    assert isinstance(caught.value, NoActiveKeyError)
    assert "idp keys rotate --alg EdDSA" in str(caught.value)
    # an active and a next key for each default algorithm, nothing else
    assert sorted(key["alg"] for key in keyring.jwks()["keys"]) == [
        "ES256",
        "ES256",
        "RS256",
        "RS256",
    ]


# -- what an attacker tries -----------------------------------------------------------------
def test_unsigned_tokens_are_refused_even_when_the_caller_lists_none(ring: KeyRing) -> None:
    token = forge({"alg": "none", "kid": kid_of(ring, "RS256")}, CLAIMS)
    with pytest.raises(InvalidTokenError, match="not accepted"):
        ring.verify(token, algs=["none", "RS256"])
    with pytest.raises(InvalidTokenError):
        ring.verify(forge({"alg": "none"}, CLAIMS), algs=["none"])


def test_hmac_with_the_public_key_as_secret_is_refused(ring: KeyRing) -> None:
    """The classic confusion: HS256 keyed with the RSA public key everybody can fetch."""
    kid = kid_of(ring, "RS256")
    jwk = published(ring)[kid]
    number = lambda name: int.from_bytes(unb64url(jwk[name]), "big")  # noqa: E731
    public = rsa.RSAPublicNumbers(number("e"), number("n")).public_key()
    pem, formats = serialization.Encoding.PEM, serialization.PublicFormat
    secrets = [
        public.public_bytes(pem, formats.SubjectPublicKeyInfo),
        public.public_bytes(pem, formats.PKCS1),
        json.dumps(jwk).encode(),
    ]
    for secret in secrets:
        header = {"alg": "HS256", "kid": kid, "typ": "JWT"}
        unsigned = forge(header, CLAIMS).rsplit(".", 1)[0]
        mac = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
        with pytest.raises(InvalidTokenError, match="not accepted"):
            ring.verify(f"{unsigned}.{b64url(mac)}", algs=["RS256", "HS256"])


def test_a_key_verifies_only_its_own_algorithm(ring: KeyRing) -> None:
    rs_token = ring.sign(CLAIMS, alg="RS256")
    _, payload, sig = rs_token.split(".")
    relabelled = forge({**header_of(rs_token), "alg": "ES256"}, {}).split(".")[0]
    with pytest.raises(InvalidTokenError, match="signs only with RS256"):
        ring.verify(f"{relabelled}.{payload}.{sig}", algs=["RS256", "ES256"])
    with pytest.raises(InvalidTokenError, match="not allowed"):
        ring.verify(ring.sign(CLAIMS, alg="ES256"), algs=["RS256"])
    # an SM2 key is an EC key too: its tokens are never taken for ES256, nor the reverse
    for signed, claimed in (("SM2SM3", "ES256"), ("ES256", "SM2SM3")):
        token = ring.sign(CLAIMS, alg=signed)
        _, payload, sig = token.split(".")
        relabelled = forge({**header_of(token), "alg": claimed}, {}).split(".")[0]
        with pytest.raises(InvalidTokenError, match=f"signs only with {signed}"):
            ring.verify(f"{relabelled}.{payload}.{sig}", algs=["ES256", "SM2SM3"])


def test_tokens_from_keys_we_do_not_hold_are_refused(ring: KeyRing) -> None:
    theirs = ECKey.generate_key("P-256")
    stranger = jwt.encode({"alg": "ES256", "kid": "their-key"}, CLAIMS, theirs)
    with pytest.raises(InvalidTokenError, match="unknown key"):
        ring.verify(stranger, algs=["ES256"])
    # the same forgery wearing our kid
    ours = kid_of(ring, "ES256")
    impostor = jwt.encode({"alg": "ES256", "kid": ours}, CLAIMS, theirs)
    with pytest.raises(InvalidTokenError, match="bad signature"):
        ring.verify(impostor, algs=["ES256"])
    with pytest.raises(InvalidTokenError, match="no key id"):
        ring.verify(jwt.encode({"alg": "ES256"}, CLAIMS, theirs), algs=["ES256"])


def test_a_changed_payload_is_refused(ring: KeyRing) -> None:
    head, _, sig = ring.sign(CLAIMS, alg="ES256").split(".")
    payload = b64url(json.dumps({**CLAIMS, "sub": "someone-else"}).encode())
    with pytest.raises(InvalidTokenError, match="bad signature"):
        ring.verify(f"{head}.{payload}.{sig}", algs=["ES256"])
    odd_headers = [f"{b64url(h)}.{payload}.{sig}" for h in (b'"alg"', b'["alg"]', b"null")]
    for garbage in ("", "a.b", "a.b.c", "....", "é.é.é", *odd_headers):
        with pytest.raises(InvalidTokenError):
            ring.verify(garbage, algs=["ES256"])


def test_the_token_type_must_match_when_asked(ring: KeyRing) -> None:
    access = ring.sign(CLAIMS, alg="ES256", typ="at+jwt")
    assert ring.verify(access, algs=["ES256"], typ="application/AT+JWT") == CLAIMS
    with pytest.raises(InvalidTokenError, match="type"):
        ring.verify(access, algs=["ES256"], typ="logout+jwt")
    with pytest.raises(InvalidTokenError, match="type"):
        ring.verify(ring.sign(CLAIMS, alg="ES256"), algs=["ES256"], typ="at+jwt")


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
    _verify_with_cryptography(jwks_before[waiting], token)  # the RP's cached copy verifies
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


# -- keys at rest ---------------------------------------------------------------------------
def test_private_keys_are_sealed_at_rest_and_bound_to_their_kid(
    ring: KeyRing, factory: sessionmaker[Session]
) -> None:
    with factory() as session:
        rows = session.execute(select(SigningKey.kid, SigningKey.private_sealed)).all()
    assert len(rows) == 8  # an active and a next key for RS256, ES256, EdDSA and SM2SM3
    for kid, sealed in rows:
        for marker in (b"-----BEGIN", b'"d"', b'"kty"', b"PRIVATE"):
            assert marker not in sealed
        assert '"d"' in open_sealed(KEK, sealed, f"signing_keys|private|{kid}").decode()
    (_, sealed_a), (kid_b, _) = rows[0], rows[1]
    with pytest.raises(SealError):  # copied onto another key's row, it does not open
        open_sealed(KEK, sealed_a, f"signing_keys|private|{kid_b}")


def test_a_wrong_key_encryption_key_opens_nothing(
    ring: KeyRing, factory: sessionmaker[Session]
) -> None:
    stranger = KeyRing(os.urandom(16), factory, max_token_ttl=TTL)
    assert stranger.jwks() == {"keys": []}
    with pytest.raises(NoActiveKeyError):
        stranger.sign(CLAIMS, alg="ES256")


def test_a_public_key_swapped_in_the_database_is_not_trusted(
    ring: KeyRing, factory: sessionmaker[Session]
) -> None:
    """Someone who can write to the database but lacks the key-encryption key."""
    kid = kid_of(ring, "ES256")
    theirs = ECKey.generate_key("P-256")
    with factory.begin() as session:
        row = session.get(SigningKey, kid)
        assert row is not None
        row.public_jwk = {**theirs.as_dict(private=False), "kid": kid, "alg": "ES256"}
    fresh = KeyRing(KEK, factory, max_token_ttl=TTL)
    forged = jwt.encode({"alg": "ES256", "kid": kid}, CLAIMS, theirs)
    with pytest.raises(InvalidTokenError):
        fresh.verify(forged, algs=["ES256"])
    assert kid not in published(fresh)


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
