"""Signed JSON over HTTP: the wire every `GovJson*` adapter speaks, and how its failures map.

Each call is one POST or GET with a JSON body, signed as `connectors.signing` describes;
the answer must carry a valid signature bound to our nonce before anything in it is
believed. Failures become `ConnectorUnavailable` or `ConnectorRejected` (see
`connectors.errors` for which is which). There is no automatic retry: the caller decides
whether to tell the person "try again later".
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from connectors import signing
from connectors.errors import ConnectorRejected, ConnectorUnavailable

__all__ = ["DEFAULT_TIMEOUT", "MAX_ANSWER_BYTES", "SignedClient", "set_mode"]

DEFAULT_TIMEOUT = 3.0
MAX_ANSWER_BYTES = 1 << 20


class SignedClient:
    """One outside service at `base_url`; API paths are signed relative to it."""

    def __init__(
        self,
        base_url: str,
        key: bytes,
        *,
        service: str,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{service}: base URL must be an absolute http(s) URL")
        if timeout <= 0:
            raise ValueError(f"{service}: timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.timeout = timeout
        self._key = signing.check_key(key)
        self._clock = clock
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def call(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send one signed request and return the verified JSON answer (a dict)."""
        target = path + ("?" + urlencode(query) if query else "")
        body = b"" if payload is None else _dumps(payload)
        timestamp, nonce = str(int(self._clock())), signing.new_nonce()
        message = signing.request_message(method, target, timestamp, nonce, body)
        headers = {
            signing.TIMESTAMP_HEADER: timestamp,
            signing.NONCE_HEADER: nonce,
            signing.SIGNATURE_HEADER: signing.sign(self._key, message),
            "Accept": "application/json",
        }
        if payload is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        deadline = time.monotonic() + self.timeout
        try:
            response = self._session().request(
                method,
                self.base_url + target,
                data=body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            with response:
                content = self._read(response, deadline)
        except requests.Timeout:
            raise ConnectorUnavailable(
                f"{self.service} did not answer within {self.timeout:g}s"
            ) from None
        except requests.RequestException as exc:
            raise ConnectorUnavailable(
                f"{self.service} is unreachable ({type(exc).__name__})"
            ) from None
        return self._answer(response, content, nonce)

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def _session(self) -> requests.Session:
        # requests.Session is not documented as thread-safe; one per thread keeps pooling.
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(session)
        return session

    def _read(self, response: requests.Response, deadline: float) -> bytes:
        """The body, refusing one that trickles past the deadline or grows too large."""
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(16384):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise ConnectorUnavailable(f"{self.service} answer is too large")
            if time.monotonic() > deadline:
                raise ConnectorUnavailable(
                    f"{self.service} did not answer within {self.timeout:g}s"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _answer(self, response: requests.Response, content: bytes, nonce: str) -> dict[str, Any]:
        status = response.status_code
        if status in (401, 403):
            raise ConnectorUnavailable(
                f"{self.service} refused our signature ({status}); check the shared key and clock"
            )
        if status == 429 or status >= 500:
            raise ConnectorUnavailable(
                f"{self.service} answered {status}", retry_after=_retry_after(response)
            )
        timestamp = response.headers.get(signing.TIMESTAMP_HEADER, "")
        message = signing.response_message(status, nonce, timestamp, content)
        if not signing.verify(self._key, message, response.headers.get(signing.SIGNATURE_HEADER)):
            raise ConnectorUnavailable(f"{self.service} answer has no valid signature")
        if not signing.fresh(timestamp, self._clock()):
            raise ConnectorUnavailable(f"{self.service} answer is stale or from a skewed clock")
        try:
            data = json.loads(content)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ConnectorUnavailable(f"{self.service} answer is not a JSON object")
        if 400 <= status < 500:
            raise ConnectorRejected(
                str(data.get("error") or f"http_{status}"), str(data.get("message") or "")
            )
        if status != 200:
            raise ConnectorUnavailable(f"{self.service} answered {status}")
        return data


def _dumps(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def set_mode(base_url: str, key: bytes, mode: str, delay: float = 0.0) -> None:
    """Tell a reference service to answer normally, slowly (`delay` seconds) or with 503.

    `mode="tamper"` makes it alter each answer after signing it, as an attacker on the
    path would. For tests and demonstrations only; real services have no such switch.
    """
    client = SignedClient(base_url, key, service="reference service control")
    try:
        client.call("POST", "/_control", {"mode": mode, "delay": delay})
    finally:
        client.close()
