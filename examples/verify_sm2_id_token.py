"""Verify an SM2SM3-signed ID token from the provider's JWKS with `gmssl` alone.

For relying-party developers whose systems must use commercial cryptography (国密): copy
this file. It needs only the Python standard library and `gmssl` (pip install
gmssl==3.2.2), and follows the provider's published profile:

- JWS `alg` "SM2SM3": an SM2 signature (GB/T 32918) over SM3, of the JWS signing input
  (base64url header "." base64url payload), as 64 raw bytes r‖s;
- JWK `{"kty": "EC", "crv": "SM2", "x": …, "y": …}` with 32-byte big-endian coordinates;
- signer ID (the Z value's ID) the GM/T 0009 default "1234567812345678", which gmssl
  3.2.2 uses as well (discovery repeats it as `sm2_signer_id`).

Usage:

    python examples/verify_sm2_id_token.py --issuer http://127.0.0.1:8000 \\
        --client-id <your client_id> <id_token>

It prints the verified claims as JSON, or the reason the token is refused (exit code 1).

Two traps of gmssl 3.2.2 are avoided here: its constructor strips leading "04" pairs from
the public key (so a key whose x starts with 0x04 would be corrupted): the key is set after
construction; and its `verify` accepts r and s outside [1, n-1] and points off the curve:
both are checked first. (To sign with gmssl, always pass the nonce k from `secrets`.)
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import urllib.request
from typing import Any

from gmssl import func, sm2, sm3

SIGNER_ID = b"1234567812345678"  # gmssl's _sm3_z hard-codes this ID
CURVE = sm2.default_ecc_table  # the GB/T 32918.5 recommended curve


class Refused(Exception):
    """The token must not be trusted; the message says why."""


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (an https URL in production)
        return json.load(response)


def on_curve(x: int, y: int) -> bool:
    p, a, b = (int(CURVE[name], 16) for name in ("p", "a", "b"))
    return 0 <= x < p and 0 <= y < p and (y * y - (x * x * x + a * x + b)) % p == 0


def verify_sm2sm3(jwk: dict[str, Any], signing_input: bytes, signature: bytes) -> bool:
    """True if `signature` (r‖s) is the SM2-with-SM3 signature of `signing_input` by `jwk`."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "SM2" or len(signature) != 64:
        return False
    x, y = (int.from_bytes(b64url_decode(jwk[c]), "big") for c in ("x", "y"))
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    n = int(CURVE["n"], 16)
    if not on_curve(x, y) or not (0 < r < n and 0 < s < n):
        return False
    verifier = sm2.CryptSM2(private_key=None, public_key="")
    verifier.public_key = f"{x:064x}{y:064x}"  # after construction: see the module docstring
    return bool(verifier.verify_with_sm3(signature.hex(), signing_input))


def sm3_at_hash(access_token: str) -> str:
    """The `at_hash` of an SM2SM3 ID token: the left half of SM3(access token), base64url
    (OIDC Core 3.1.3.6, with the hash of the token's algorithm)."""
    digest = bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(access_token.encode("ascii"))))
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def verify_id_token(
    token: str,
    jwks: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str | None = None,
    access_token: str | None = None,
    leeway: int = 60,
) -> dict[str, Any]:
    """The claims of `token` if it is an SM2SM3 ID token from `issuer` for `client_id`
    (and, when given, carrying the `nonce` the RP sent with its authorization request and
    the `at_hash` of the access token that came with it)."""
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(payload_b64))
        signature = b64url_decode(signature_b64)
    except ValueError:
        raise Refused("not a compact JWS") from None
    if header.get("alg") != "SM2SM3":  # pin the algorithm; never take it from the key
        raise Refused(f"alg {header.get('alg')!r} is not SM2SM3")
    keys = [k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid")]
    if len(keys) != 1 or keys[0].get("alg", "SM2SM3") != "SM2SM3":
        raise Refused("no SM2SM3 key with this kid in the JWKS (refetch it once, then refuse)")
    if not verify_sm2sm3(keys[0], f"{header_b64}.{payload_b64}".encode("ascii"), signature):
        raise Refused("bad signature")
    now = time.time()
    if claims.get("iss") != issuer:
        raise Refused("wrong issuer")
    audience = claims.get("aud")
    if client_id not in (audience if isinstance(audience, list) else [audience]):
        raise Refused("not issued to this client")
    if not isinstance(claims.get("exp"), int) or claims["exp"] + leeway < now:
        raise Refused("expired")
    if not isinstance(claims.get("iat"), int) or claims["iat"] - leeway > now:
        raise Refused("issued in the future")
    if nonce is not None and claims.get("nonce") != nonce:
        raise Refused("wrong nonce")
    if access_token is not None and claims.get("at_hash") != sm3_at_hash(access_token):
        raise Refused("at_hash does not match the access token")
    return dict(claims)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--nonce", help="the nonce sent in the authorization request")
    parser.add_argument("id_token")
    args = parser.parse_args(argv)
    issuer = args.issuer.rstrip("/")
    metadata = fetch_json(f"{issuer}/.well-known/openid-configuration")
    if metadata.get("issuer") != issuer:
        print("refused: discovery names another issuer", file=sys.stderr)
        return 1
    try:
        jwks = fetch_json(metadata["jwks_uri"])
        claims = verify_id_token(
            args.id_token, jwks, issuer=issuer, client_id=args.client_id, nonce=args.nonce
        )
    except Refused as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 1
    print(json.dumps(claims, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
