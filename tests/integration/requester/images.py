"""Synthetic images for logo tests: real PNG structure (chunks with their CRCs) and the
JPEG markers a header check reads."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int = 64, height: int = 64, *, pad: int = 0) -> bytes:
    """A grey PNG; `pad` bytes of an ancillary chunk make it as large as wanted."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    extra = _chunk(b"tEXt", b"Comment\x00" + b"x" * pad) if pad else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + extra
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


def jpeg(width: int = 80, height: int = 60) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda" + struct.pack(">H", 8) + b"\x01\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app0 + sof0 + sos + b"\x00" * 16 + b"\xff\xd9"


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def lying_png() -> bytes:
    """A 600x600 PNG whose header was edited to claim 64x64 (its CRC left as it was)."""
    edited = bytearray(png(600, 600))
    edited[16:24] = struct.pack(">II", 64, 64)
    return bytes(edited)


def png_then_html() -> bytes:
    """Starts as a PNG, ends as a page: what a browser sniffing content might run."""
    return png(16, 16) + b"<html><script>alert(1)</script></html>"
