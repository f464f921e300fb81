"""The key ring: tokens RPs can verify with the published JWKS, forgeries refused, and keys
sealed at rest. Rotation and several workers: test_key_rotation.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from idp.crypto.sealing import SealError, open_sealed
from idp.keys import InvalidTokenError, KeyRing, NoActiveKeyError
from idp.keys import keyring as keyring_module
from idp.keys.models import SigningKey
from tests.unit.keys_support import (
    CLAIMS,
    KEK,
    TTL,
    b64url,
    forge,
    header_of,
    kid_of,
    published,
    rfc7638,
    unb64url,
    verify_with_cryptography,
)


# -- signing and verifying ----------------------------------------------------------------
@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA", "SM2SM3"])
def test_each_algorithm_signs_tokens_that_verify(ring: KeyRing, alg: str) -> None:
    token = ring.sign(CLAIMS, alg=alg, typ="at+jwt")
    header = header_of(token)
    assert header == {"alg": alg, "kid": header["kid"], "typ": "at+jwt"}
    assert published(ring)[header["kid"]]["alg"] == alg
    assert ring.verify(token, algs=[alg], typ="at+jwt") == CLAIMS
    assert "typ" not in header_of(ring.sign(CLAIMS, alg=alg))


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA", "SM2SM3"])
def test_relying_parties_verify_our_tokens_with_the_published_jwks_alone(
    ring: KeyRing, alg: str
) -> None:
    token = ring.sign(CLAIMS, alg=alg)
    jwk = published(ring)[header_of(token)["kid"]]
    assert jwk["use"] == "sig" and jwk["alg"] == alg
    assert jwk["kid"] == rfc7638(jwk)
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)  # nothing private is published
    verify_with_cryptography(jwk, token)  # raises InvalidSignature if not standard
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


# -- signatures verified once -----------------------------------------------------------
@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The tokens (parsed) whose signature the ring checks, in order."""
    checked: list[Any] = []
    real = keyring_module.jws.validate_compact

    def counting(obj: Any, *args: Any, **kwargs: Any) -> bool:
        checked.append(obj)
        return bool(real(obj, *args, **kwargs))

    monkeypatch.setattr(keyring_module.jws, "validate_compact", counting)
    return checked


def test_a_token_seen_before_is_not_verified_again_but_everything_else_is(
    ring: KeyRing, factory: sessionmaker[Session], signature_checks: list[Any]
) -> None:
    token = ring.sign(CLAIMS, alg="ES256", typ="at+jwt")
    for _ in range(3):
        assert ring.verify(token, algs=["ES256"], typ="at+jwt") == CLAIMS
    assert len(signature_checks) == 1
    forgetful = KeyRing(KEK, factory, max_token_ttl=TTL, verified_memory=0)
    for _ in range(2):
        assert forgetful.verify(token, algs=["ES256"], typ="at+jwt") == CLAIMS
    assert len(signature_checks) == 3  # without memory, every time
    # what is checked each time still is: algorithm, type, and the very same bytes
    with pytest.raises(InvalidTokenError, match="not allowed"):
        ring.verify(token, algs=["RS256"], typ="at+jwt")
    with pytest.raises(InvalidTokenError, match="type"):
        ring.verify(token, algs=["ES256"], typ="logout+jwt")
    head, payload, sig = token.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    with pytest.raises(InvalidTokenError, match="bad signature"):
        ring.verify(f"{head}.{payload}.{flipped}", algs=["ES256"], typ="at+jwt")
    swapped = b64url(json.dumps({**CLAIMS, "sub": "someone-else"}).encode())
    with pytest.raises(InvalidTokenError, match="bad signature"):
        ring.verify(f"{head}.{swapped}.{sig}", algs=["ES256"], typ="at+jwt")


def test_a_remembered_token_stops_verifying_when_its_key_is_retired(ring: KeyRing) -> None:
    token = ring.sign(CLAIMS, alg="ES256")
    assert ring.verify(token, algs=["ES256"]) == CLAIMS
    old = header_of(token)["kid"]
    ring.rotate("ES256")
    assert ring.verify(token, algs=["ES256"]) == CLAIMS  # retiring: still published
    ring.retire(old)
    with pytest.raises(InvalidTokenError, match="retired"):
        ring.verify(token, algs=["ES256"])


def test_the_memory_is_bounded_and_forgets_the_oldest_first(
    factory: sessionmaker[Session], signature_checks: list[Any]
) -> None:
    ring = KeyRing(KEK, factory, max_token_ttl=TTL, verified_memory=2)
    ring.ensure_keys(["ES256"])
    first, second, third = (ring.sign({**CLAIMS, "n": n}, alg="ES256") for n in range(3))
    for token in (first, second, third, third, second, first):
        ring.verify(token, algs=["ES256"])
    # third pushed first out; first, verified again, pushed second out
    assert len(signature_checks) == 4
    ring.verify(second, algs=["ES256"])
    assert len(signature_checks) == 5


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
