"""HMAC-SM3 request and answer signatures: what is covered, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from gmssl import func, sm3

from connectors import signing

KEY = bytes(range(32))
BODY = '{"name":"测试甲","id_number":"110101196009089959"}'.encode()


def hmac_sm3_by_hand(key: bytes, message: bytes) -> str:
    """RFC 2104 over gmssl's SM3: an implementation independent of `cryptography`."""

    def h(data: bytes) -> bytes:
        return bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(data)))

    block = key.ljust(64, b"\x00")
    inner = h(bytes(b ^ 0x36 for b in block) + message)
    return h(bytes(b ^ 0x5C for b in block) + inner).hex()


def test_the_signature_is_hmac_sm3_over_method_target_time_nonce_and_body() -> None:
    message = signing.request_message("post", "/v1/persons/verify", "1767225600", "ab12", BODY)
    assert message == b"POST\n/v1/persons/verify\n1767225600\nab12\n" + BODY
    assert signing.sign(KEY, message) == "hmac-sm3 " + hmac_sm3_by_hand(KEY, message)


def test_a_good_signature_verifies() -> None:
    message = signing.request_message("POST", "/v1/x", "1", "n", BODY)
    assert signing.verify(KEY, message, signing.sign(KEY, message))


@pytest.mark.parametrize(
    "changed",
    [
        ("GET", "/v1/x", "1", "n", BODY),
        ("POST", "/v1/y", "1", "n", BODY),
        ("POST", "/v1/x?phone=1", "1", "n", BODY),
        ("POST", "/v1/x", "2", "n", BODY),
        ("POST", "/v1/x", "1", "m", BODY),
        ("POST", "/v1/x", "1", "n", BODY + b" "),
    ],
)
def test_changing_any_signed_part_breaks_the_signature(
    changed: tuple[str, str, str, str, bytes],
) -> None:
    header = signing.sign(KEY, signing.request_message("POST", "/v1/x", "1", "n", BODY))
    assert not signing.verify(KEY, signing.request_message(*changed), header)


def test_an_answer_is_bound_to_status_and_request_nonce() -> None:
    header = signing.sign(KEY, signing.response_message(200, "n", "1", b"{}"))
    assert signing.verify(KEY, signing.response_message(200, "n", "1", b"{}"), header)
    assert not signing.verify(KEY, signing.response_message(400, "n", "1", b"{}"), header)
    assert not signing.verify(KEY, signing.response_message(200, "other", "1", b"{}"), header)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "hmac-sm3",
        "hmac-sm3 ",
        "hmac-sm3 zz",
        "hmac-sha256 {tag}",
        "HMAC-SM3 {tag}",
        "{tag}",
    ],
)
def test_malformed_or_foreign_headers_do_not_verify(header: str | None) -> None:
    message = signing.request_message("POST", "/v1/x", "1", "n", BODY)
    tag = signing.sign(KEY, message).split(" ", 1)[1]
    assert not signing.verify(KEY, message, header.format(tag=tag) if header else header)


def test_another_key_does_not_verify() -> None:
    message = signing.request_message("POST", "/v1/x", "1", "n", BODY)
    assert not signing.verify(bytes(32), message, signing.sign(KEY, message))


@pytest.mark.parametrize(
    ("stamp", "ok"),
    [("1000", True), ("700", True), ("1300", True), ("699", False), ("1301", False),
     ("", False), (None, False), ("-5", False), ("1e3", False), ("１０００", False),
     ("1000.0", False), ("9" * 13, False)],
)  # fmt: skip
def test_freshness_allows_300_seconds_either_way(stamp: str | None, ok: bool) -> None:
    assert signing.fresh(stamp, now=1000.0) is ok


def test_nonces_are_random_hex() -> None:
    nonces = {signing.new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    assert all(len(n) == 32 and int(n, 16) >= 0 for n in nonces)


def test_a_key_file_holds_hex(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text(KEY.hex() + "\n")
    assert signing.load_key(path) == KEY
    path.write_text("not hex")
    with pytest.raises(ValueError, match="hexadecimal"):
        signing.load_key(path)
    path.write_text("00" * 15)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        signing.load_key(path)
