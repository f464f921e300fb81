"""A small, fast HTTP/1.1 keep-alive client on asyncio (standard library only).

Built for the load generator: requests are pre-encoded bytes, responses are parsed just
enough (status, headers, a Content-Length or chunked body). It talks to loopback only.
"""

from __future__ import annotations

import asyncio
import base64
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

LOOPBACK = "127.0.0.1"


class ConnectionClosed(ConnectionError):
    pass


_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r]*chunked", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:[ \t]*close", re.IGNORECASE)


class Response:
    """Status, body and the raw head; headers are parsed only when asked for."""

    __slots__ = ("_headers", "body", "head", "status")

    def __init__(self, status: int, head: bytes, body: bytes) -> None:
        self.status, self.head, self.body = status, head, body
        self._headers: list[tuple[bytes, bytes]] | None = None

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        if self._headers is None:
            parsed = []
            for line in self.head.split(b"\r\n")[1:]:
                key, _, value = line.partition(b":")
                parsed.append((key.strip().lower(), value.strip()))
            self._headers = parsed
        return self._headers

    def header(self, name: bytes) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("latin-1")
        return None

    @property
    def location(self) -> str:
        raw = self.header(b"location") or ""
        parts = urlsplit(raw)
        if parts.scheme:  # absolute: keep the path and query (same host)
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return raw

    def cookies(self) -> dict[str, str]:
        found = {}
        for key, value in self.headers:
            if key == b"set-cookie":
                pair = value.split(b";", 1)[0]
                name, _, val = pair.partition(b"=")
                found[name.strip().decode()] = val.strip().decode()
        return found


class _Protocol(asyncio.Protocol):
    __slots__ = ("_buf", "_closed", "_waiter", "transport")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buf += data
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def more(self) -> None:
        if self._closed:
            raise ConnectionClosed("server closed the connection")
        self._waiter = asyncio.get_running_loop().create_future()
        await self._waiter
        self._waiter = None
        if self._closed and not self._buf:
            raise ConnectionClosed("server closed the connection")


class Connection:
    """One keep-alive connection; reconnects after the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        if host != LOOPBACK:
            raise ValueError("the load generator talks to loopback only")
        self.host, self.port = host, port
        self._proto: _Protocol | None = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(_Protocol, self.host, self.port)
        self._proto = proto
        return proto

    def close(self) -> None:
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.close()
        self._proto = None

    async def request(self, raw: bytes) -> Response:
        proto = self._proto
        if proto is None or proto._closed:
            proto = await self._connect()
        proto._buf.clear()
        assert proto.transport is not None
        proto.transport.write(raw)
        try:
            return await self._read(proto)
        except BaseException:
            self.close()
            raise

    async def _read(self, proto: _Protocol) -> Response:
        buf = proto._buf
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            await proto.more()
        head = bytes(buf[:end])
        status = int(head[9:12])
        found = _LENGTH.search(head)
        length = int(found.group(1)) if found else -1
        chunked = _CHUNKED.search(head) is not None
        close = _CLOSE.search(head) is not None
        start = end + 4
        if chunked:
            body = await self._chunked(proto, start)
        elif length >= 0:
            while len(buf) < start + length:
                await proto.more()
            body = bytes(buf[start : start + length])
            del buf[: start + length]
        else:  # no length: the body runs to the end of the connection
            while not proto._closed:
                await proto.more()
            body = bytes(buf[start:])
            close = True
        if close:
            self.close()
        return Response(status, head, body)

    async def _chunked(self, proto: _Protocol, pos: int) -> bytes:
        buf = proto._buf
        parts: list[bytes] = []
        while True:
            while (eol := buf.find(b"\r\n", pos)) < 0:
                await proto.more()
            size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
            pos = eol + 2
            while len(buf) < pos + size + 2:
                await proto.more()
            if size == 0:
                # trailers are not used by our servers: the last chunk ends in CRLF CRLF
                del buf[: pos + 2]
                return b"".join(parts)
            parts.append(bytes(buf[pos : pos + size]))
            pos += size + 2


@dataclass
class RequestBuilder:
    """Pre-encodes requests for one server (Host header and fixed extra headers)."""

    host: str
    port: int
    extra: dict[str, str] = field(default_factory=dict)

    def build(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        cookies: dict[str, str] | None = None,
    ) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for key, value in {**self.extra, **(headers or {})}.items():
            lines.append(f"{key}: {value}")
        if cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
        body = b""
        if form is not None:
            body = urlencode(form).encode()
            lines.append("Content-Type: application/x-www-form-urlencoded")
        if method == "POST" or body:
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
