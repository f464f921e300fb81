"""The busiest machine-to-machine OAuth requests answered in front of Flask, by the same
Authlib code the Flask views run:

- POST /introspect (RFC 7662): resource servers introspect on every call they serve;
- POST /token with `grant_type=refresh_token` or `client_credentials`: RPs keeping
  sessions alive and services fetching tokens for each other.

For these, Flask's request, routing, hooks and response objects cost more than the work
itself. Here the request is read straight from the WSGI environ and handed to the very
`IntrospectionEndpoint` and token grants the Flask views run; only the wrapping differs.

The flow, top to bottom (`FastOAuth.__call__`):

1. `_is_plain`: only the ordinary request is taken: POST to one of `PATHS`, no query
   string, a form body of known length up to `MAX_BODY`. Anything else goes to Flask
   untouched.
2. `_read_form`: the body is parsed exactly as Werkzeug parses `request.form`. Bodies that
   are not UTF-8, client assertions (private_key_jwt, which writes a replay record) and
   the grants not in `FAST_GRANTS` (authorization_code: a person's sign-in, rare by
   comparison) go to Flask too, with the body put back.
3. `_FormRequest`: an Authlib request over that form and Flask's URL for it (`_url`);
   building it checks the transport as Authlib does for the Flask views.
4. The endpoint:
   - introspection: `IntrospectionEndpoint.create_endpoint_response`, handed the
     provider's parts (it writes nothing and needs no app context);
   - token: a repeated parameter refused (idp.oidc.parameters.py), then
     `OidcServer.get_token_grant`, the grant's `validate_token_request` and
     `create_token_response`, as `OidcServer.create_token_response` runs them,
     inside an app context (the grants find the provider's parts through it) and with
     the request's address for any audit row (`idp.audit.request_origin`).
   An OAuth error becomes Authlib's error answer, as
   `AuthorizationServer.handle_error_response` makes it.
5. `_encode`: the answer as `OidcServer.handle_response` and the after-request hooks would
   send it: the app's JSON provider, the same headers in the same order, no-store.

Any other exception (Redis down, an insecure transport) is not run again: the request,
body put back, goes to Flask with the exception in the environ (`FAILURE`), and the
Flask view raises it (`raise_fast_path_failure`), so Flask's error handling gives the
answer it would have given had the exception happened there: an error page, or for an
insecure transport the `invalid_request` of idp/oidc/endpoints.py. A refresh token is
therefore never spent twice by one request.
"""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import OAuth2Error, OAuth2Payload, OAuth2Request
from flask import Flask
from werkzeug.datastructures import EnvironHeaders, Headers, ImmutableMultiDict
from werkzeug.http import HTTP_STATUS_CODES, parse_options_header
from werkzeug.wsgi import get_current_url

from idp.audit import request_origin
from idp.oidc.introspection import IntrospectionEndpoint
from idp.oidc.parameters import refuse_repeated_parameters
from idp.oidc.runtime import Oidc
from idp.oidc.server import NO_STORE
from idp.web.security import security_headers

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

INTROSPECT, TOKEN = "/introspect", "/token"  # the routes of idp.oidc.endpoints
PATHS = (INTROSPECT, TOKEN)
FAST_GRANTS = ("refresh_token", "client_credentials")
FORM_TYPE = "application/x-www-form-urlencoded"
# A JWT access token is under 1 KiB; larger bodies are unusual and Flask's to judge.
MAX_BODY = 16 * 1024
# private_key_jwt records each assertion's jti: such requests are Flask's alone.
ASSERTION_FIELDS = ("client_assertion", "client_assertion_type")
# the environ key of an exception the fast path met, for the Flask view to raise
FAILURE = "idp.fast_path_failure"

Answer = tuple[str, list[tuple[str, str]], bytes]


def raise_fast_path_failure(environ: WSGIEnvironment) -> None:
    """In a Flask view: raise the exception the fast path met with this request, if any,
    so that Flask answers it as its own (see the module's docstring)."""
    failure = environ.pop(FAILURE, None)
    if failure is not None:
        raise failure


class FastOAuth:
    """WSGI middleware: introspection, refresh and client-credentials requests without
    Flask, answered as the Flask views answer them (byte for byte, tokens apart)."""

    def __init__(
        self, wsgi_app: WSGIApplication, *, app: Flask, runtime: Oidc, secure: bool
    ) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        self.server = runtime.server
        self.introspection = IntrospectionEndpoint(runtime.server, runtime)
        # what idp.web.security.apply_cookies_and_headers adds to the oidc blueprint's
        # answers when missing (Cache-Control is always set by the OAuth answer already)
        self.defaults = (*security_headers(secure), ("Cache-Control", "no-store"))
        self._built: dict[tuple[tuple[str, str], ...], list[tuple[str, str]]] = {}
        self._urls: dict[tuple[Any, ...], str] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not _is_plain(environ):
            return self.wsgi_app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        form = _read_form(body)
        answer = None
        if form is not None and self._takes(environ["PATH_INFO"], form):
            try:
                answer = self._answer(environ, form)
            except Exception as exc:  # Flask's view raises it again and answers it
                log.debug("fast path: %s left to Flask", type(exc).__name__)
                environ[FAILURE] = exc
        if answer is None:
            environ["wsgi.input"] = io.BytesIO(body)
            return self.wsgi_app(environ, start_response)
        status, headers, data = answer
        start_response(status, headers)
        return [data]

    @staticmethod
    def _takes(path: str, form: ImmutableMultiDict[str, str]) -> bool:
        if any(field in form for field in ASSERTION_FIELDS):
            return False
        return path == INTROSPECT or form.get("grant_type") in FAST_GRANTS

    def _answer(self, environ: WSGIEnvironment, form: ImmutableMultiDict[str, str]) -> Answer:
        """The endpoint's answer; raises what Flask is to answer instead."""
        request = _FormRequest(self._url(environ), EnvironHeaders(environ), form)
        if environ["PATH_INFO"] == INTROSPECT:  # needs no app context: it writes nothing
            return self._encode(*self._run(self.introspection.create_endpoint_response, request))
        origin = (environ.get("REMOTE_ADDR"), environ.get("HTTP_USER_AGENT"))
        with self.app.app_context(), request_origin(*origin):
            return self._encode(*self._run(self._token, request))

    def _token(self, request: OAuth2Request) -> tuple[int, Any, list[tuple[str, str]]]:
        """OidcServer.create_token_response, up to its handle_response."""
        refuse_repeated_parameters(request)
        grant = self.server.get_token_grant(request)
        grant.validate_token_request()
        return grant.create_token_response()

    def _run(
        self, endpoint: Callable[[OAuth2Request], Any], request: OAuth2Request
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        """(status, payload, headers) of `endpoint`, an OAuth error's answer included."""
        try:
            return endpoint(request)
        except OAuth2Error as error:
            return error(self.server.get_error_uri(request, error))

    def _url(self, environ: WSGIEnvironment) -> str:
        """Flask's `request.url` (werkzeug's get_current_url), remembered per host: it reads
        only these environ keys, PATH_INFO and QUERY_STRING being fixed by `_is_plain`."""
        trusted = self.app.config["TRUSTED_HOSTS"]
        key = (
            environ["wsgi.url_scheme"],
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"),
            environ.get("SCRIPT_NAME"),
            tuple(trusted) if trusted else None,
        )
        url = self._urls.get(key)
        if url is None:
            url = get_current_url(environ, trusted_hosts=trusted)  # SecurityError: to Flask
            if len(self._urls) < 64:  # the Host header is the client's: keep a few
                self._urls[key] = url
        return url

    def _encode(self, status: int, payload: dict[str, Any], headers: list[Any]) -> Answer:
        """As OidcServer.handle_response builds the Response, then the after-request hooks."""
        data = self.app.json.dumps(payload).encode()  # what flask.json.dumps uses
        length = str(len(data))
        out = [(k, length if k == "Content-Length" else v) for k, v in self._headers(headers)]
        return f"{status} {HTTP_STATUS_CODES[status].upper()}", out, data

    def _headers(self, given: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The answer's headers, built by Werkzeug's `Headers` in the Flask path's steps.
        Authlib gives a handful of distinct header sets, so each is built once."""
        key = tuple(given)
        built = self._built.get(key)
        if built is None:
            headers = Headers(given)
            headers["Content-Length"] = "0"  # Response.set_data; the length is put in later
            headers.update(NO_STORE)  # OidcServer.handle_response
            present = {name.lower() for name, _value in headers.items()}
            headers.extend([(k, v) for k, v in self.defaults if k.lower() not in present])
            built = headers.to_wsgi_list()
            if len(self._built) < 32:
                self._built[key] = built
        return built


def _is_plain(environ: WSGIEnvironment) -> bool:
    """A POST to one of `PATHS` with a form body of known, small length, no query string."""
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") not in PATHS:
        return False
    if environ.get("QUERY_STRING"):  # Authlib reads client_id from the query too
        return False
    length = environ.get("CONTENT_LENGTH", "")
    if not length.isdigit() or int(length) > MAX_BODY:  # none: chunked, Flask's to read
        return False
    content_type = environ.get("CONTENT_TYPE", "")  # as request.mimetype reads it
    return content_type == FORM_TYPE or parse_options_header(content_type)[0].lower() == FORM_TYPE


def _read_form(body: bytes) -> ImmutableMultiDict[str, str] | None:
    """`request.form` as Werkzeug builds it; None for a body that is not UTF-8 (Werkzeug
    then drops the form silently: Flask answers that case itself)."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    return ImmutableMultiDict(parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote"))


class _FormPayload(OAuth2Payload):
    """FlaskOAuth2Payload over a parsed form: without a query string, values are the form."""

    def __init__(self, form: ImmutableMultiDict[str, str]) -> None:
        self._form = form

    @property
    def data(self) -> ImmutableMultiDict[str, str]:
        return self._form

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return defaultdict(list, self._form.to_dict(flat=False))


class _FormRequest(OAuth2Request):
    """FlaskOAuth2Request without Flask: the same URL, headers and form."""

    def __init__(
        self, url: str, headers: EnvironHeaders, form: ImmutableMultiDict[str, str]
    ) -> None:
        super().__init__("POST", url)  # refuses an insecure URL (InsecureTransportError)
        # set after: OAuth2Request's `headers or {}` would count every environ key
        self.headers = headers
        self._form = form
        self.payload = _FormPayload(form)

    @property
    def args(self) -> ImmutableMultiDict[str, str]:
        return ImmutableMultiDict()

    @property
    def form(self) -> ImmutableMultiDict[str, str]:
        return self._form
