"""SM2 with SM3: the standard's worked example, the two backends agreeing with each other in
both directions, gmssl's traps stepped around, and nothing but a good signature verifying."""

from __future__ import annotations

import secrets
import sys
import types
from collections.abc import Iterator

import pytest
from gmssl import sm2 as gmssl_sm2

from idp.crypto import sm2

TONGSUO = sm2.get_backend("tongsuopy")
GMSSL = sm2.get_backend("gmssl")
BACKENDS = [TONGSUO, GMSSL]

# GB/T 32918.5 (and GM/T 0003.5): the recommended 256-bit curve.
STANDARD = {
    "p": "FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFF",
    "a": "FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFC",
    "b": "28E9FA9E 9D9F5E34 4D5A9E4B CF6509A7 F39789F5 15AB8F92 DDBCBD41 4D940E93",
    "n": "FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF 7203DF6B 21C6052B 53BBF409 39D54123",
    "gx": "32C4AE2C 1F198119 5F990446 6A39C994 8FE30BBF F2660BE1 715A4589 334C74C7",
    "gy": "BC3736A2 F4F6779C 59BDCEE3 6B692153 D0A9877C C62A4740 02DF32E5 2139F0A0",
}


def h(text: str) -> int:
    return int(text.replace(" ", ""), 16)


# GB/T 32918.2 Annex A (GM/T 0003.2 A.2): the signature example on its 256-bit test curve.
ANNEX_CURVE = sm2.Curve(
    name="GB/T 32918.2 A.2",
    p=h("8542D69E 4C044F18 E8B92435 BF6FF7DE 45728391 5C45517D 722EDB8B 08F1DFC3"),
    a=h("787968B4 FA32C3FD 2417842E 73BBFEFF 2F3C848B 6831D7E0 EC65228B 3937E498"),
    b=h("63E4C6D3 B23B0C84 9CF84241 484BFE48 F61D59A5 B16BA06E 6E12D1DA 27C5249A"),
    gx=h("421DEBD6 1B62EAB6 746434EB C3CC315E 32220B3B ADD50BDC 4C4E6C14 7FEDD43D"),
    gy=h("0680512B CBB42C07 D47349D2 153B70C4 E5D7FDFC BFA36EA1 A85841B9 E46E09A2"),
    n=h("8542D69E 4C044F18 E8B92435 BF6FF7DD 29772063 0485628D 5AE74EE7 C32E79B7"),
)


class Annex:
    """The example's signer, message, key, expected Z and e, nonce and signature."""

    signer_id = b"ALICE123@YAHOO.COM"
    message = b"message digest"
    d = h("128B2FA8 BD433C6C 068C8D80 3DFF7979 2A519A55 171B1B65 0C23661D 15897263")
    x = h("0AE4C779 8AA0F119 471BEE11 825BE462 02BB79E2 A5844495 E97C04FF 4DF2548A")
    y = h("7C0240F8 8F1CD4E1 6352A73C 17B7F16F 07353E53 A176D684 A9FE0C6B B798E857")
    z = h("F4A38489 E32B45B6 F876E3AC 2168CA39 2362DC8F 23459C1D 1146FC3D BFB7BC9A")
    e = h("B524F552 CD82B8B0 28476E00 5C377FB1 9A87E6FC 682D48BB 5D42E3D9 B9EFFE76")
    k = h("6CB28D99 385C175C 94F94E93 4817663F C176D925 DD72B727 260DBAAE 1FB2F96F")
    r = h("40F1EC59 F793D9F4 9E09DCEF 49130D41 94F79FB1 EED2CAA5 5BACDB49 C4E755D1")
    s = h("6FC6DAC3 2C5D5CF1 0C77DFB2 0F7C2EB6 67A45787 2FB09EC5 6327A67E C7DEEBE7")


N = sm2.SM2_CURVE.n


def signature(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def test_both_backends_use_the_recommended_curve_of_the_standard() -> None:
    curve = sm2.SM2_CURVE
    assert {k: getattr(curve, k) for k in STANDARD} == {k: h(v) for k, v in STANDARD.items()}
    table = gmssl_sm2.default_ecc_table
    assert {k: int(v, 16) for k, v in table.items()} == {
        "p": curve.p,
        "a": curve.a,
        "b": curve.b,
        "n": curve.n,
        "g": (curve.gx << 256) | curve.gy,
    }
    assert curve.contains(curve.gx, curve.gy)
    for backend in BACKENDS:
        assert backend.curve == curve
        assert backend.public_point(1) == (curve.gx, curve.gy)
        # (n-2)·G = -(2·G): n is the order of G for both implementations.
        two_g = backend.public_point(2)
        assert backend.public_point(N - 2) == (two_g[0], curve.p - two_g[1])


def test_the_standards_example_signature_is_reproduced_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = sm2.GmsslBackend(ANNEX_CURVE)
    point = backend.public_point(Annex.d)
    assert point == (Annex.x, Annex.y)
    z = sm2.z_value(point, Annex.signer_id, ANNEX_CURVE)
    assert z == Annex.z.to_bytes(32, "big")
    e = sm2.digest(point, Annex.message, Annex.signer_id, ANNEX_CURVE)
    assert e == Annex.e.to_bytes(32, "big")

    # The example's k, through the very call that otherwise draws k from `secrets`.
    fixed_k = types.SimpleNamespace(randbelow=lambda bound: Annex.k - 1)
    monkeypatch.setattr(sm2, "secrets", fixed_k)
    made = backend.sign(Annex.d, Annex.message, Annex.signer_id)
    assert made == signature(Annex.r, Annex.s)

    assert backend.verify(point, Annex.message, made, Annex.signer_id)
    assert not backend.verify(point, Annex.message, made)  # the default ID is another Z
    key = sm2.PublicKey(*point, curve=ANNEX_CURVE)
    assert key.verify(Annex.message, made, Annex.signer_id, backend=backend)
    with pytest.raises(sm2.UnsupportedError):  # tongsuopy knows only the SM2 curve
        key.verify(Annex.message, made, Annex.signer_id, backend=TONGSUO)


def test_tongsuopy_hashes_the_default_signer_id_into_z() -> None:
    key = sm2.PrivateKey.generate()
    point = key.public_key(TONGSUO).point
    made = TONGSUO.sign(key.d, b"abc")
    assert GMSSL.verify(point, b"abc", made, sm2.DEFAULT_SIGNER_ID)
    assert not GMSSL.verify(point, b"abc", made, b"")  # as some implementations do
    for call in (
        lambda: TONGSUO.sign(key.d, b"abc", b"ALICE123@YAHOO.COM"),
        lambda: TONGSUO.verify(point, b"abc", made, b""),
    ):
        with pytest.raises(sm2.UnsupportedError, match="default signer ID"):
            call()


def test_tongsuopy_signs_and_gmssl_verifies_for_random_keys_and_messages() -> None:
    for _ in range(200):
        key = sm2.PrivateKey.generate()
        message = secrets.token_bytes(secrets.randbelow(300))
        made = key.sign(message, backend=TONGSUO)
        assert len(made) == 64
        assert GMSSL.verify(key.public_key(TONGSUO).point, message, made)


def test_gmssl_signs_and_tongsuopy_verifies_for_random_keys_and_messages() -> None:
    for _ in range(200):
        key = sm2.PrivateKey.generate()
        message = secrets.token_bytes(secrets.randbelow(300))
        made = key.sign(message, backend=GMSSL)
        assert key.public_key(GMSSL) == key.public_key(TONGSUO)
        assert TONGSUO.verify(key.public_key(GMSSL).point, message, made)


def keys_whose_hex_starts_with_04(count: int) -> Iterator[sm2.PrivateKey]:
    found = 0
    while found < count:
        key = sm2.PrivateKey.generate()
        if f"{key.public_key(TONGSUO).x:064x}".startswith("04"):
            found += 1
            yield key


def test_public_keys_whose_hex_starts_with_04_are_not_corrupted() -> None:
    for key in keys_whose_hex_starts_with_04(4):
        public = key.public_key(TONGSUO)
        hex_key = f"{public.x:064x}{public.y:064x}"
        # The trap: gmssl's constructor strips every leading "0" and "4".
        naive = gmssl_sm2.CryptSM2(private_key="", public_key=hex_key)
        assert naive.public_key != hex_key
        message = secrets.token_bytes(40)
        by_tongsuo = key.sign(message, backend=TONGSUO)
        e = sm2.digest(public.point, message)
        with pytest.raises(TypeError):  # the shortened key is not even a point to gmssl
            naive.verify(by_tongsuo.hex(), e)

        assert GMSSL.public_point(key.d) == public.point
        assert GMSSL.verify(public.point, message, by_tongsuo)
        assert TONGSUO.verify(public.point, message, key.sign(message, backend=GMSSL))


@pytest.fixture(scope="module")
def signed() -> tuple[sm2.PrivateKey, bytes, bytes]:
    key = sm2.PrivateKey.generate()
    return key, b"payload", key.sign(b"payload", backend=TONGSUO)


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_good_signature_verifies(
    backend: sm2.Backend, signed: tuple[sm2.PrivateKey, bytes, bytes]
) -> None:
    key, message, made = signed
    assert key.public_key().verify(message, made, backend=backend)


def flipped(made: bytes, bit: int) -> bytes:
    value = bytearray(made)
    value[bit // 8] ^= 1 << (bit % 8)
    return bytes(value)


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_tampered_signatures_do_not_verify(
    backend: sm2.Backend, signed: tuple[sm2.PrivateKey, bytes, bytes]
) -> None:
    key, message, made = signed
    point = key.public_key().point
    for bit in (0, 7, 100, 255, 256, 300, 511):
        assert not backend.verify(point, message, flipped(made, bit))
    assert not backend.verify(point, message + b".", made)
    assert not backend.verify(point, b"", made)
    r, s = int.from_bytes(made[:32], "big"), int.from_bytes(made[32:], "big")
    assert not backend.verify(point, message, signature(s, r))
    assert not backend.verify(point, message, signature(r, N - s))
    other = sm2.PrivateKey.generate().public_key()
    assert not backend.verify(other.point, message, made)


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_malformed_signatures_do_not_verify(
    backend: sm2.Backend, signed: tuple[sm2.PrivateKey, bytes, bytes]
) -> None:
    key, message, made = signed
    point = key.public_key().point
    r = int.from_bytes(made[:32], "big")
    bad = [
        b"",
        made[:63],
        made + b"\x00",
        b"\x00" + made,
        made * 2,
        bytes(64),
        b"\xff" * 64,
        signature(0, 1),
        signature(r, 0),
        signature(N, 1),
        signature(r, N),
        made.hex().encode(),
    ]
    for value in bad:
        assert backend.verify(point, message, value) is False
    assert backend.verify(point, message, made.hex()) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_points_off_the_curve_do_not_verify(
    backend: sm2.Backend, signed: tuple[sm2.PrivateKey, bytes, bytes]
) -> None:
    key, message, made = signed
    x, y = key.public_key().point
    p = sm2.SM2_CURVE.p
    for point in [(x, y + 1), (x + 1, y), (0, 0), (x, y + p), (x + p, y), (-x, y)]:
        assert backend.verify(point, message, made) is False
    assert backend.verify((x,), message, made) is False  # type: ignore[arg-type]
    with pytest.raises(sm2.InvalidKeyError):
        sm2.PublicKey(x, y + 1)


def test_a_custom_signer_id_binds_the_signature_with_gmssl() -> None:
    key = sm2.PrivateKey.generate()
    made = key.sign(b"m", b"gov-idp@example", backend=GMSSL)
    public = key.public_key()
    assert public.verify(b"m", made, b"gov-idp@example", backend=GMSSL)
    assert not public.verify(b"m", made, backend=GMSSL)
    assert not public.verify(b"m", made, b"gov-idp@exampl", backend=GMSSL)
    with pytest.raises(sm2.SM2Error):
        sm2.z_value(public.point, b"x" * 8192)


@pytest.mark.parametrize("d", [0, -1, N - 1, N, N + 1, 2**256])
def test_scalars_out_of_range_are_refused(d: int) -> None:
    with pytest.raises(sm2.InvalidKeyError):
        sm2.PrivateKey(d)
    for backend in BACKENDS:
        with pytest.raises(sm2.InvalidKeyError):
            backend.sign(d, b"m")
        with pytest.raises(sm2.InvalidKeyError):
            backend.public_point(d)


def test_the_private_scalar_is_not_in_the_repr() -> None:
    key = sm2.PrivateKey(0x1234567890ABCDEF)
    assert "1234567890" not in repr(key) and str(0x1234567890ABCDEF) not in repr(key)


@pytest.fixture
def fresh_backends() -> Iterator[None]:
    sm2.get_backend.cache_clear()
    sm2.default_backend.cache_clear()
    yield
    sm2.get_backend.cache_clear()
    sm2.default_backend.cache_clear()


@pytest.mark.usefixtures("fresh_backends")
def test_the_native_backend_is_the_default_and_gmssl_the_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(sm2.BACKEND_ENV, raising=False)
    assert sm2.default_backend().name == "tongsuopy"
    assert sm2.default_backend() is sm2.default_backend()

    sm2.get_backend.cache_clear()
    sm2.default_backend.cache_clear()
    for name in [m for m in sys.modules if m.split(".")[0] == "tongsuopy"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    assert sm2.default_backend().name == "gmssl"


@pytest.mark.usefixtures("fresh_backends")
def test_the_backend_can_be_forced_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sm2.BACKEND_ENV, "gmssl")
    assert sm2.default_backend().name == "gmssl"
    sm2.default_backend.cache_clear()
    monkeypatch.setenv(sm2.BACKEND_ENV, "openssl")
    with pytest.raises(sm2.SM2Error, match="unknown SM2 backend"):
        sm2.default_backend()
