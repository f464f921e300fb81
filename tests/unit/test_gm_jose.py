"""JOSE with SM2 and SM3: tokens one backend signs verify under the other from the public
JWK alone, the JWK and its thumbprint are the EC layout, and each algorithm is pinned to its
own keys, so no token crosses from ES256, HS256 or none."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from gmssl import func, sm3
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    InvalidKeyCurveError,
    InvalidKeyLengthError,
    InvalidKeyTypeError,
    JoseError,
    KeyParameterError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import ECKey, KeySet, OctKey
from joserfc.jws import JWSRegistry

from idp.crypto import sm2
from idp.keys import gm_jose

TONGSUO = sm2.get_backend("tongsuopy")
GMSSL = sm2.get_backend("gmssl")
CLAIMS = {"iss": "https://idp.example.gov.cn", "sub": "p-1", "aud": "rp-1", "exp": 2000000000}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: object) -> bytes:
    assert isinstance(text, str)
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def key() -> gm_jose.SM2Key:
    return gm_jose.SM2Key.generate_key()


@pytest.fixture(scope="module")
def public(key: gm_jose.SM2Key) -> gm_jose.SM2Key:
    return gm_jose.import_sm2_key(key.as_dict())


@pytest.mark.parametrize(
    ("signer", "verifier"), [(TONGSUO, GMSSL), (GMSSL, TONGSUO)], ids=["tongsuopy", "gmssl"]
)
def test_a_token_signed_by_one_backend_verifies_under_the_other(
    key: gm_jose.SM2Key, signer: sm2.Backend, verifier: sm2.Backend
) -> None:
    token = jwt.encode({"alg": "SM2SM3"}, CLAIMS, key, registry=gm_jose.registry(backend=signer))
    from_jwk_alone = gm_jose.import_sm2_key(json.loads(json.dumps(key.as_dict())))
    decoded = jwt.decode(token, from_jwk_alone, registry=gm_jose.registry(backend=verifier))
    assert decoded.claims == CLAIMS
    assert decoded.header["alg"] == "SM2SM3"

    compact = jws.serialize_compact(
        {"alg": "SM2SM3"}, b"payload", key, registry=gm_jose.registry(backend=signer)
    )
    found = jws.deserialize_compact(
        compact, from_jwk_alone, registry=gm_jose.registry(backend=verifier)
    )
    assert found.payload == b"payload"


def test_the_signature_is_raw_r_s_over_the_signing_input(key: gm_jose.SM2Key) -> None:
    token = jws.serialize_compact({"alg": "SM2SM3"}, b"payload", key, algorithms=["SM2SM3"])
    header, payload, sig = token.split(".")
    raw = unb64(sig)
    assert len(raw) == 64
    point = key.public_key.point
    assert GMSSL.verify(point, f"{header}.{payload}".encode(), raw, sm2.DEFAULT_SIGNER_ID)


def test_a_tampered_token_is_refused(key: gm_jose.SM2Key, public: gm_jose.SM2Key) -> None:
    header, payload, sig = jwt.encode({"alg": "SM2SM3"}, CLAIMS, key, algorithms=["SM2SM3"]).split(
        "."
    )
    other = b64(json.dumps({**CLAIMS, "sub": "p-2"}).encode())
    short = b64(unb64(sig)[:63])
    flipped = b64(bytes([unb64(sig)[0] ^ 1]) + unb64(sig)[1:])
    for forged in (f"{header}.{other}.{sig}", f"{header}.{payload}.{short}"):
        with pytest.raises(BadSignatureError):
            jwt.decode(forged, public, algorithms=["SM2SM3"])
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{payload}.{flipped}", public, algorithms=["SM2SM3"])
    stranger = gm_jose.SM2Key.generate_key(private=False)
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{payload}.{sig}", stranger, algorithms=["SM2SM3"])


def test_the_jwk_is_the_ec_layout_with_crv_sm2(key: gm_jose.SM2Key) -> None:
    public_jwk = key.as_dict()
    assert set(public_jwk) == {"kty", "crv", "x", "y"}
    assert public_jwk["kty"] == "EC" and public_jwk["crv"] == "SM2"
    point = key.public_key
    assert unb64(public_jwk["x"]) == point.x.to_bytes(32, "big")
    assert unb64(public_jwk["y"]) == point.y.to_bytes(32, "big")
    private_jwk = key.as_dict(private=True)
    assert unb64(private_jwk["d"]) == key.private_key.d.to_bytes(32, "big")  # type: ignore[union-attr]

    assert isinstance(key, ECKey) and key.key_type == "EC" and key.is_private
    again = gm_jose.import_sm2_key(private_jwk)
    assert again.is_private and again.private_key == key.private_key
    assert again.as_dict(private=True) == private_jwk
    public = gm_jose.import_sm2_key(public_jwk)
    assert not public.is_private and public.private_key is None
    assert public.public_key == key.public_key
    with pytest.raises(ValueError, match="not a private key"):
        public.as_dict(private=True)


def test_small_coordinates_keep_their_full_32_bytes() -> None:
    key = gm_jose.SM2Key.import_key(sm2.PrivateKey(1))  # G: nothing special, but fixed
    jwk = key.as_dict(private=True)
    assert all(len(unb64(jwk[k])) == 32 for k in ("x", "y", "d"))
    assert unb64(jwk["d"]) == bytes(31) + b"\x01"


def test_the_thumbprint_is_rfc_7638_over_crv_kty_x_y(key: gm_jose.SM2Key) -> None:
    jwk = key.as_dict()
    canonical = json.dumps(
        {"crv": "SM2", "kty": "EC", "x": jwk["x"], "y": jwk["y"]}, separators=(",", ":")
    )
    expected = b64(hashlib.sha256(canonical.encode()).digest())
    assert key.thumbprint() == expected
    with_extras = gm_jose.import_sm2_key({**jwk, "kid": "k1", "use": "sig", "alg": "SM2SM3"})
    assert with_extras.thumbprint() == expected


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"crv": "P-256"}, InvalidKeyCurveError),
        ({"kty": "OKP"}, InvalidKeyTypeError),
        ({"x": b64(bytes(31) + b"\x01")}, KeyParameterError),
        ({"x": b64(bytes(33))}, KeyParameterError),
        ({"y": "not base64url!"}, KeyParameterError),
        ({"y": None}, KeyParameterError),
        ({"d": b64(bytes(32))}, KeyParameterError),
        ({"d": b64((2).to_bytes(32, "big"))}, KeyParameterError),  # not the d of x, y
    ],
)
def test_bad_sm2_jwks_are_refused(change: dict[str, Any], error: type[Exception]) -> None:
    jwk = gm_jose.SM2Key.import_key(sm2.PrivateKey(1)).as_dict()
    with pytest.raises(error):
        gm_jose.import_sm2_key({**jwk, **change})


def test_a_point_off_the_curve_is_refused(key: gm_jose.SM2Key) -> None:
    jwk = key.as_dict()
    y = int.from_bytes(unb64(jwk["y"]), "big")
    with pytest.raises(KeyParameterError, match="not on the curve"):
        gm_jose.import_sm2_key({**jwk, "y": b64(((y + 1) % 2**256).to_bytes(32, "big"))})
    with pytest.raises(KeyParameterError, match="required"):
        gm_jose.import_sm2_key({"kty": "EC", "crv": "SM2", "x": jwk["x"]})


def test_only_jwks_and_sm2_keys_import(key: gm_jose.SM2Key) -> None:
    with pytest.raises(InvalidKeyTypeError):
        gm_jose.SM2Key.import_key(b"-----BEGIN PUBLIC KEY-----\n")
    with pytest.raises(InvalidKeyTypeError):
        key.as_pem()
    with pytest.raises(InvalidKeyCurveError):
        gm_jose.SM2Key.generate_key("P-256")
    with pytest.raises(NotImplementedError):
        gm_jose.SM2Key.derive_key("secret")


def test_an_sm2_key_never_verifies_es256_and_a_p256_key_never_sm2sm3(
    key: gm_jose.SM2Key, public: gm_jose.SM2Key
) -> None:
    p256 = ECKey.generate_key("P-256")
    both = ["SM2SM3", "ES256"]
    with pytest.raises(InvalidKeyCurveError):
        jwt.encode({"alg": "SM2SM3"}, CLAIMS, p256, algorithms=both)
    with pytest.raises(InvalidKeyCurveError):
        jwt.encode({"alg": "ES256"}, CLAIMS, key, algorithms=both)

    es256 = jwt.encode({"alg": "ES256"}, CLAIMS, p256, algorithms=["ES256"])
    with pytest.raises(InvalidKeyCurveError):
        jwt.decode(es256, public, algorithms=both)
    sm2sm3 = jwt.encode({"alg": "SM2SM3"}, CLAIMS, key, algorithms=["SM2SM3"])
    with pytest.raises(InvalidKeyCurveError):
        jwt.decode(sm2sm3, p256, algorithms=both)

    # An SM2 signature relabelled ES256 meets the ES256 model, which refuses the SM2 key.
    _, payload, sig = sm2sm3.split(".")
    relabelled = f"{b64(json.dumps({'alg': 'ES256'}).encode())}.{payload}.{sig}"
    with pytest.raises(InvalidKeyCurveError):
        jwt.decode(relabelled, public, algorithms=both)
    with pytest.raises(InvalidKeyCurveError):
        JWSRegistry.algorithms["ES256"].check_key(public)
    with pytest.raises(InvalidKeyCurveError):
        gm_jose.SM2SM3.verify(b"m", bytes(64), p256)


def test_none_and_hs256_with_the_public_key_are_refused(public: gm_jose.SM2Key) -> None:
    claims = b64(json.dumps(CLAIMS).encode())
    unsigned = f"{b64(json.dumps({'alg': 'none'}).encode())}.{claims}."
    with pytest.raises(UnsupportedAlgorithmError):
        jwt.decode(unsigned, public, algorithms=["SM2SM3"])

    # The classic confusion: an HMAC keyed with the published key.
    published = json.dumps(public.as_dict()).encode()
    hs256 = jwt.encode({"alg": "HS256"}, CLAIMS, OctKey.import_key(published), algorithms=["HS256"])
    with pytest.raises(UnsupportedAlgorithmError):
        jwt.decode(hs256, public, algorithms=["SM2SM3"])
    with pytest.raises(InvalidKeyTypeError):
        jwt.decode(hs256, public, algorithms=["SM2SM3", "HS256"])
    with pytest.raises(JoseError):
        jwt.decode(hs256, KeySet([public]), algorithms=["SM2SM3", "HS256"])


def test_sm2sm3_and_hsm3_are_registered_once_and_never_enabled_silently(
    monkeypatch: pytest.MonkeyPatch, key: gm_jose.SM2Key
) -> None:
    gm_jose.register()
    gm_jose.register()
    assert JWSRegistry.algorithms["SM2SM3"] is gm_jose.SM2SM3
    assert JWSRegistry.algorithms["HSM3"] is gm_jose.HSM3
    assert "SM2SM3" not in JWSRegistry.recommended and "HSM3" not in JWSRegistry.recommended
    assert KeySet.algorithm_keys["SM2SM3"] == ["EC"]
    with pytest.raises(UnsupportedAlgorithmError, match="not recommended"):
        jwt.encode({"alg": "SM2SM3"}, CLAIMS, key)
    assert JWSRegistry.guess_algorithm(key, JWSRegistry.Strategy.RECOMMENDED) is None

    monkeypatch.setitem(JWSRegistry.algorithms, "HSM3", JWSRegistry.algorithms["HS256"])
    with pytest.raises(RuntimeError, match="HSM3"):
        gm_jose.register()


def test_a_key_set_finds_the_sm2_key_by_kid(key: gm_jose.SM2Key, public: gm_jose.SM2Key) -> None:
    signing = KeySet([key, gm_jose.SM2Key.generate_key()])
    token = jwt.encode({"alg": "SM2SM3", "kid": key.thumbprint()}, CLAIMS, signing, ["SM2SM3"])
    verifying = KeySet([public, gm_jose.SM2Key.generate_key(private=False)])
    assert jwt.decode(token, verifying, algorithms=["SM2SM3"]).claims == CLAIMS


def hmac_sm3_by_hand(key: bytes, message: bytes) -> bytes:
    """RFC 2104 over gmssl's SM3: an implementation independent of `cryptography`."""

    def h(data: bytes) -> bytes:
        return bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(data)))

    block = key.ljust(64, b"\x00")
    inner = h(bytes(b ^ 0x36 for b in block) + message)
    return h(bytes(b ^ 0x5C for b in block) + inner)


def test_gmssl_sm3_is_the_standard_sm3() -> None:
    # GB/T 32905 example 1: SM3("abc").
    assert sm3.sm3_hash(func.bytes_to_list(b"abc")) == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


def test_hsm3_is_hmac_sm3_and_round_trips() -> None:
    secret = OctKey.import_key(bytes(range(32)))
    token = jws.serialize_compact({"alg": "HSM3"}, b"payload", secret, algorithms=["HSM3"])
    header, payload, sig = token.split(".")
    assert unb64(sig) == hmac_sm3_by_hand(bytes(range(32)), f"{header}.{payload}".encode())
    assert jws.deserialize_compact(token, secret, algorithms=["HSM3"]).payload == b"payload"

    claims = jwt.decode(jwt.encode({"alg": "HSM3"}, CLAIMS, secret, ["HSM3"]), secret, ["HSM3"])
    assert claims.claims == CLAIMS

    flipped = b64(bytes([unb64(sig)[0] ^ 1]) + unb64(sig)[1:])
    for forged in (f"{header}.{payload}.{flipped}", f"{header}.{payload}.{sig[:-2]}"):
        with pytest.raises(BadSignatureError):
            jws.deserialize_compact(forged, secret, algorithms=["HSM3"])
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(token, OctKey.import_key(bytes(32)), algorithms=["HSM3"])


def test_hsm3_refuses_short_keys_and_other_key_types(key: gm_jose.SM2Key) -> None:
    short = OctKey.import_key(bytes(range(31)))
    with pytest.raises(InvalidKeyLengthError):
        jws.serialize_compact({"alg": "HSM3"}, b"p", short, algorithms=["HSM3"])
    good = jws.serialize_compact(
        {"alg": "HSM3"}, b"p", OctKey.import_key(bytes(range(31)) + b"\x1f"), algorithms=["HSM3"]
    )
    with pytest.raises(InvalidKeyLengthError):
        jws.deserialize_compact(good, short, algorithms=["HSM3"])
    with pytest.raises(InvalidKeyTypeError):
        jws.serialize_compact({"alg": "HSM3"}, b"p", key, algorithms=["HSM3"])
    hs256 = jws.serialize_compact(
        {"alg": "HS256"}, b"p", OctKey.import_key(bytes(32)), algorithms=["HS256"]
    )
    with pytest.raises(UnsupportedAlgorithmError):
        jws.deserialize_compact(hs256, OctKey.import_key(bytes(32)), algorithms=["HSM3"])


def test_a_registry_names_at_least_one_algorithm() -> None:
    with pytest.raises(ValueError, match="at least one"):
        gm_jose.registry([])
