"""A client's POST to a machine-to-machine endpoint, read from the WSGI environ into the
OAuth2Request the grants and endpoints take.

Two ways to read the parameters, one result:

- the ordinary request, a small `application/x-www-form-urlencoded` UTF-8 body of known
  length and no query string, is read and split here (`parse_qsl`, exactly as Werkzeug
  splits a form);
- anything else (a query string, a chunked body, a charset parameter, another content
  type, a body that is not UTF-8, a large one) goes to Werkzeug's own form parser, with
  the app's size limit: what Flask's `request.args` and `request.form` would have held.

As with Flask's request, parameters are the query string's and then the body's
(`payload.data`); client_secret_post and client assertions read the body only (`form`).
The request carries what the grants need besides the server: where it came from (for
audit rows) and a database session, opened on first use and closed by the pipeline.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from sqlalchemy.orm import Session
from werkzeug.datastructures import (
    CombinedMultiDict,
    EnvironHeaders,
    ImmutableMultiDict,
    MultiDict,
)
from werkzeug.wrappers import Request

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

FORM_TYPE = "application/x-www-form-urlencoded"
# A token request is a few hundred bytes and a JWT access token under 1 KiB: a body of
# known length up to this is read in one go; anything larger is Werkzeug's to stream.
CHEAP_BODY = 16 * 1024
NOTHING: ImmutableMultiDict[str, str] = ImmutableMultiDict()

Parameters = tuple[MultiDict[str, str], MultiDict[str, str]]


def read_parameters(environ: WSGIEnvironment, max_body: int) -> Parameters:
    """(query, form) of the request. Raises RequestEntityTooLarge (a 413) past
    `max_body` bytes."""
    length = environ.get("CONTENT_LENGTH", "")
    if (
        not environ.get("QUERY_STRING")
        and length.isdigit()
        and int(length) <= CHEAP_BODY
        and environ.get("CONTENT_TYPE") == FORM_TYPE
    ):
        body = environ["wsgi.input"].read(int(length))
        try:
            text = body.decode()
        except UnicodeDecodeError:  # Werkzeug's answer to that: an empty form
            environ["wsgi.input"] = io.BytesIO(body)
        else:
            pairs = parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")
            return NOTHING, ImmutableMultiDict(pairs)
    return _werkzeug_parameters(environ, max_body)


def _werkzeug_parameters(environ: WSGIEnvironment, max_body: int) -> Parameters:
    request = Request(environ)
    request.max_content_length = max_body
    return request.args, request.form


class MachineRequest(OAuth2Request):
    """An OAuth2Request over parsed parameters, with the request's origin and a database
    session of its own."""

    def __init__(
        self,
        url: str,
        environ: WSGIEnvironment,
        parameters: Parameters,
        open_session: Callable[[], Session],
    ) -> None:
        super().__init__("POST", url)  # refuses plain http to others (InsecureTransportError)
        # set after: OAuth2Request's `headers or {}` would count every environ key
        self.headers = EnvironHeaders(environ)
        self._args, self._form = parameters
        self.payload = FormPayload(self._args, self._form)
        self.remote_addr: str | None = environ.get("REMOTE_ADDR")
        self.user_agent: str | None = environ.get("HTTP_USER_AGENT")
        self._open_session = open_session
        self._session: Session | None = None

    @property
    def args(self) -> MultiDict[str, str]:
        return self._args

    @property
    def form(self) -> MultiDict[str, str]:
        return self._form

    @property
    def db(self) -> Session:
        """The request's database session (audit rows, claims), opened when first used."""
        if self._session is None:
            self._session = self._open_session()
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


class FormPayload(OAuth2Payload):
    """FlaskOAuth2Payload over parsed parameters: the query string's, then the body's."""

    def __init__(self, args: MultiDict[str, str], form: MultiDict[str, str]) -> None:
        self._data: Any = CombinedMultiDict([args, form]) if args else form

    @property
    def data(self) -> Any:
        return self._data

    @cached_property
    def datalist(self) -> defaultdict[str, list[str]]:
        values: defaultdict[str, list[str]] = defaultdict(list)
        for name in self._data:
            values[name].extend(self._data.getlist(name))
        return values
