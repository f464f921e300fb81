"""A relying party's logo, as an administrator registers it and the sign-in page shows it.

Only PNG and JPEG, at most MAX_BYTES and MAX_SIDE pixels a side, checked by decoding the
file's structure (PNG: signature, an IHDR chunk whose CRC holds, IEND at the end; JPEG:
SOI, a frame header, EOI at the end), so that a file that only starts like an image (a
"PNG" that is HTML or SVG underneath) is refused. The logo is served from our own origin
with the type found here, never a type the file claims.
"""

from __future__ import annotations

import struct
import zlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.oidc.clients import ClientMetadataError
from idp.oidc.models import Client

MAX_BYTES = 64 * 1024
MAX_SIDE = 512
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
# JPEG start-of-frame markers (baseline, progressive, lossless...): not DHT, JPG or DAC
JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def check_logo(data: bytes) -> str:
    """The logo's Content-Type; ClientMetadataError("logo", why) when it is refused."""
    if len(data) > MAX_BYTES:
        raise ClientMetadataError("logo", f"larger than {MAX_BYTES // 1024} KB")
    if data.startswith(PNG_SIGNATURE):
        width, height = _png_size(data)
        kind = "image/png"
    elif data.startswith(b"\xff\xd8\xff"):
        width, height = _jpeg_size(data)
        kind = "image/jpeg"
    else:
        raise ClientMetadataError("logo", "not a PNG or JPEG image")
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ClientMetadataError("logo", f"{width}x{height} pixels; at most {MAX_SIDE}x{MAX_SIDE}")
    return kind


def _png_size(data: bytes) -> tuple[int, int]:
    header = data[8:33]  # length, "IHDR", 13 bytes of fields, CRC
    if len(header) < 25 or header[:8] != b"\x00\x00\x00\x0dIHDR":
        raise ClientMetadataError("logo", "not a valid PNG image (no IHDR header)")
    (crc,) = struct.unpack(">I", header[21:25])
    if zlib.crc32(header[4:21]) != crc:
        raise ClientMetadataError("logo", "not a valid PNG image (damaged header)")
    if not data.endswith(PNG_END):
        raise ClientMetadataError("logo", "not a valid PNG image (does not end with IEND)")
    width, height = struct.unpack(">II", header[8:16])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int]:
    if not data.endswith(b"\xff\xd9"):
        raise ClientMetadataError("logo", "not a valid JPEG image (no end marker)")
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in JPEG_FRAMES and at + 9 <= len(data):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        if marker == 0xDA or length < 2:  # image data before any frame header
            break
        at += 2 + length
    raise ClientMetadataError("logo", "not a valid JPEG image (no frame header)")


def logo_of(session: Session, client_id: str) -> tuple[bytes, str] | None:
    """The client's logo and its Content-Type, or None."""
    data = session.scalar(select(Client.logo).where(Client.client_id == client_id))
    if not data:
        return None
    return bytes(data), check_logo(bytes(data))


def logo_version(session: Session, client_id: str) -> datetime | None:
    """When the client (and so its logo) last changed, if it has a logo: the sign-in page
    links the logo with it, so a new logo is fetched at once and an old one is cached."""
    return session.scalar(
        select(Client.updated_at).where(Client.client_id == client_id, Client.logo.is_not(None))
    )
