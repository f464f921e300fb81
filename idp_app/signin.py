"""Signing in as the official app: an authorization request (code + PKCE S256, the app's
loopback redirect), the provider's own sign-in form filled in as a person's browser
would (hidden fields and CSRF token included), the code exchanged at the token endpoint.

    discovery -> GET authorization_endpoint -> redirects -> the sign-in form
        -> POST account and password -> redirects -> the app's redirect URI with a code
        -> POST token_endpoint -> access token

A page asking anything else (an agreement, a consent, a choice) is not answered here:
the sign-in fails with a one-line reason naming the page.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from idp_app.errors import AppError, brief, json_of

REDIRECT_URI = "http://127.0.0.1/app/callback"
SCOPE = "openid"
MAX_STEPS = 12  # redirects and pages between the request and the callback


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # name, type, value

    @property
    def asks_password(self) -> bool:
        return any(kind == "password" for _name, kind, _value in self.fields)


class Page(HTMLParser):
    """The forms of an HTML page, its title and its alerts (what went wrong, if anything)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.title = ""
        self.alerts: list[str] = []
        self._form: Form | None = None
        self._in: str | None = None  # "title" or "alert" while inside one
        self._alert_tag = ""  # the alert's element, and how deep inside it we are
        self._depth = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = Form(found.get("action", ""), found.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and found.get("name"):
            kind = found.get("type", "text").lower()
            self._form.fields.append((found["name"], kind, found.get("value", "")))
        if tag == "title":
            self._in = "title"
        elif self._in == "alert" and tag == self._alert_tag:
            self._depth += 1
        elif self._in is None and found.get("role") == "alert":
            self._in, self._alert_tag, self._depth = "alert", tag, 1
            self.alerts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        if self._in == "title" and tag == "title":
            self._in = None
        elif self._in == "alert" and tag == self._alert_tag:
            self._depth -= 1
            if self._depth == 0:
                self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "alert":
            self.alerts[-1] += " " + data

    def password_form(self) -> Form | None:
        return next((f for f in self.forms if f.asks_password and f.method == "post"), None)

    def said(self) -> str:
        """What the page tells the person: its alert, else its title."""
        alert = next((" ".join(a.split()) for a in self.alerts if a.strip()), "")
        return alert or " ".join(self.title.split()) or "an unnamed page"


def discover(http: requests.Session, issuer: str, timeout: float) -> dict[str, Any]:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = http.get(url, timeout=timeout)
    except requests.RequestException as exc:
        raise AppError(f"cannot reach the provider at {issuer}: {brief(exc)}") from None
    doc = json_of(response, "discovery")
    if doc.get("issuer") != issuer.rstrip("/"):
        raise AppError(f"{url} names another issuer ({doc.get('issuer')!r})")
    for name in ("authorization_endpoint", "token_endpoint"):
        if not isinstance(doc.get(name), str):
            raise AppError(f"the provider's discovery document has no {name}")
    return doc


def sign_in(
    http: requests.Session,
    issuer: str,
    *,
    username: str,
    password: str,
    client_id: str,
    timeout: float = 10.0,
) -> str:
    """The access token the official app gets when this person signs in."""
    doc = discover(http, issuer, timeout)
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    try:
        first = http.get(
            doc["authorization_endpoint"], params=params, allow_redirects=False, timeout=timeout
        )
        location = _follow(http, first, username, password, issuer=doc["issuer"], timeout=timeout)
        code = _code_in(location, issuer=doc["issuer"], state=state)
        answer = http.post(
            doc["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": client_id,
                "code_verifier": verifier,
            },
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise AppError(f"the provider stopped answering during sign-in: {brief(exc)}") from None
    tokens = json_of(answer, "the token endpoint")
    token = tokens.get("access_token")
    if not isinstance(token, str):
        raise AppError("the token endpoint answered without an access token")
    return token


def _follow(
    http: requests.Session,
    response: requests.Response,
    username: str,
    password: str,
    *,
    issuer: str,
    timeout: float,
) -> str:
    """Follow redirects and the sign-in form to the app's redirect URI (returned)."""
    submitted = False
    origin = urlsplit(issuer)[:2]
    for _ in range(MAX_STEPS):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if _is_callback(location):
                return location
            if urlsplit(location)[:2] != origin:
                raise AppError(f"the provider sent the sign-in elsewhere ({location[:120]})")
            response = http.get(location, allow_redirects=False, timeout=timeout)
            continue
        page = Page(response.text) if "html" in response.headers.get("Content-Type", "") else None
        if response.status_code != 200 or page is None:
            said = page.said() if page else f"HTTP {response.status_code}"
            raise AppError(f"sign-in stopped at {urlsplit(response.url).path}: {said}")
        form = page.password_form()
        if form is None:
            raise AppError(f"the provider asks for something the app cannot answer: {page.said()}")
        if submitted:
            raise AppError(f"sign-in refused: {page.said()}")
        data = {name: value for name, kind, value in form.fields if kind == "hidden"}
        data.update(username=username, password=password)
        action = urljoin(response.url, form.action or response.url)
        response = http.post(action, data=data, allow_redirects=False, timeout=timeout)
        submitted = True
    raise AppError("sign-in did not reach the app's redirect URI")


def _is_callback(location: str) -> bool:
    target, expected = urlsplit(location), urlsplit(REDIRECT_URI)
    return (target.scheme, target.hostname, target.path) == (
        expected.scheme,
        expected.hostname,
        expected.path,
    )


def _code_in(location: str, *, issuer: str, state: str) -> str:
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    if "iss" in query and query["iss"] != issuer:
        raise AppError(f"the authorization response names another issuer ({query['iss']!r})")
    if query.get("state") != state:
        raise AppError("the authorization response is not for this request (state)")
    if "error" in query:
        reason = query.get("error_description") or query["error"]
        raise AppError(f"the provider refused the sign-in: {reason}")
    if not query.get("code"):
        raise AppError("the authorization response carries no code")
    return query["code"]
