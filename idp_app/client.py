"""The app as a library: enrol a device key, then list, scan, approve and deny approvals
through the provider's app API, every request signed by the device key.

    app = AppClient.enrol("https://idp.example", username="demo", password="...")
    for approval in app.pending(): ...
    app.approve(app.scan(qr_text)["id"])

A proof is a DPoP-shaped JWT (RFC 9449's shape): header `typ: dpop+jwt`, `alg: ES256`,
the device's id as `kid` (or, at enrolment only, the new public key as `jwk`); claims
`htm`, `htu` (the URL without query), `iat`, a fresh `jti`, and at enrolment `ath` (the
access token's SHA-256).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from cryptography.hazmat.primitives import hashes
from joserfc import jws
from joserfc.jwk import ECKey

from idp_app import signin
from idp_app.errors import AppError, brief, json_of
from idp_app.state import State

API = "/app/api"
DEFAULT_CLIENT_ID = "gov-idp-app"
DEFAULT_TIMEOUT = 10.0  # seconds


def proof(
    key: ECKey,
    *,
    method: str,
    url: str,
    kid: str | None = None,
    access_token: str | None = None,
    iat: int | None = None,
    jti: str | None = None,
) -> str:
    """A proof for one request: signed by `key`, naming the device `kid` (or carrying the
    public key when `kid` is None, as at enrolment)."""
    header: dict[str, Any] = {"typ": "dpop+jwt", "alg": "ES256"}
    if kid is None:
        header["jwk"] = key.as_dict(private=False)
    else:
        header["kid"] = kid
    parts = urlsplit(url)
    claims: dict[str, Any] = {
        "htm": method,
        "htu": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
        "iat": int(time.time()) if iat is None else iat,
        "jti": jti or secrets.token_urlsafe(16),
    }
    if access_token is not None:
        digest = hashlib.sha256(access_token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return jws.serialize_compact(header, json.dumps(claims), key, algorithms=["ES256"])


def liveness_token(image_b64: str) -> str:
    """What a liveness SDK on the phone issues for a camera frame: "live-" and the first
    32 hex digits of the frame's SM3 hash (the reference face service's rule)."""
    try:
        image = base64.b64decode(image_b64, validate=True)
    except ValueError:
        raise AppError("the camera frame is not base64") from None
    digest = hashes.Hash(hashes.SM3())
    digest.update(image)
    return "live-" + digest.finalize().hex()[:32]


class AppClient:
    """One enrolled device of one person, at one provider."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        device_id: str,
        key: ECKey,
        *,
        name: str = "",
        http: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.device_id = device_id
        self.key = key
        self.name = name
        self.http = http or _session()
        self.timeout = timeout

    # -- state ------------------------------------------------------------------------------
    @classmethod
    def from_state(cls, state: State, **options: Any) -> AppClient:
        return cls(
            state.issuer, state.client_id, state.device_id, state.key, name=state.name, **options
        )

    def state(self, camera: str | None = None) -> State:
        return State(self.issuer, self.client_id, self.device_id, self.key, self.name, camera)

    # -- enrolment --------------------------------------------------------------------------
    @classmethod
    def enrol(
        cls,
        issuer: str,
        *,
        username: str,
        password: str,
        client_id: str = DEFAULT_CLIENT_ID,
        name: str = "idp-app",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> AppClient:
        """Sign in as the app through the provider's sign-in form, make an ES256 key and
        enrol its public half as a new device of this person."""
        issuer = issuer.rstrip("/")
        http = _session()
        token = signin.sign_in(
            http, issuer, username=username, password=password, client_id=client_id, timeout=timeout
        )
        key = ECKey.generate_key("P-256")
        url = issuer + API + "/devices"
        headers = {
            "Authorization": f"Bearer {token}",
            "DPoP": proof(key, method="POST", url=url, access_token=token),
        }
        answer = _send(http, "POST", url, headers=headers, body={"name": name}, timeout=timeout)
        enrolled = json_of(answer, "enrolment")
        return cls(
            issuer,
            client_id,
            str(enrolled["device_id"]),
            key,
            name=str(enrolled.get("name", name)),
            http=http,
            timeout=timeout,
        )

    # -- approvals --------------------------------------------------------------------------
    def pending(self) -> list[dict[str, Any]]:
        """The person's open approvals, newest first (each with id, kind, client_name,
        binding_message, expires_at in ISO 8601, state, scopes, location, level)."""
        return self.listing()[0]

    def listing(self) -> tuple[list[dict[str, Any]], str | None]:
        """The open approvals, and when the account closes if it is set to (ISO 8601;
        None if not): the app tells its owner, who may not have asked for it."""
        listed = self._call("GET", "/approvals", "listing approvals")
        approvals, due = listed.get("approvals"), listed.get("closure_due_at")
        if not isinstance(approvals, list):
            raise AppError("the provider's list of approvals is not a list")
        return approvals, due if isinstance(due, str) else None

    def scan(self, text: str) -> dict[str, Any]:
        """What the camera read (a QR's payload, a verification_uri_complete): the
        approval it names, now this device's."""
        return self._call("POST", "/scan", "scanning", body={"text": text})

    def approve(self, approval_id: str, *, face_image: str | None = None) -> dict[str, Any]:
        """Approve with the device key (amr swk), and with a face check when a camera
        frame is given (amr swk face)."""
        body: dict[str, Any] = {"face": face_image is not None}
        if face_image is not None:
            body.update(image=face_image, liveness_token=liveness_token(face_image))
        return self._call(
            "POST", f"/approvals/{_segment(approval_id)}/approve", "approving", body=body
        )

    def deny(self, approval_id: str) -> dict[str, Any]:
        return self._call("POST", f"/approvals/{_segment(approval_id)}/deny", "denying", body={})

    # -- devices ----------------------------------------------------------------------------
    def devices(self) -> list[dict[str, Any]]:
        found = self._call("GET", "/devices", "listing devices").get("devices")
        if not isinstance(found, list):
            raise AppError("the provider's list of devices is not a list")
        return found

    def remove(self, device_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/devices/{_segment(device_id)}", "removing the device")

    # -- one signed request -----------------------------------------------------------------
    def _call(
        self, method: str, path: str, what: str, *, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        url = self.issuer + API + path
        headers = {"DPoP": proof(self.key, method=method, url=url, kid=self.device_id)}
        answer = _send(self.http, method, url, headers=headers, body=body, timeout=self.timeout)
        return json_of(answer, what)


def _send(
    http: requests.Session,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: dict[str, Any] | None,
    timeout: float,
) -> requests.Response:
    try:
        return http.request(
            method, url, headers=headers, json=body, timeout=timeout, allow_redirects=False
        )
    except requests.RequestException as exc:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        raise AppError(f"cannot reach the provider at {origin}: {brief(exc)}") from None


def _segment(value: str) -> str:
    return quote(value, safe="")


def _session() -> requests.Session:
    http = requests.Session()
    http.trust_env = False  # a separate program: no proxies or netrc picked up from outside
    http.headers.update({"Accept-Language": "en", "User-Agent": "idp-app (reference client)"})
    return http
