"""The machine-to-machine endpoints, mounted beside the Flask app: a WSGI dispatcher that
answers POST /token, /introspect and /revoke itself (and whatever other endpoint
idp/oidc/features.py turns on) and hands every other path to Flask.

Relying parties and resource servers call these endpoints with no cookie, no page and no
language: Flask's routing, sessions and hooks would only cost. One request, top to bottom
(`MachineEndpoints.__call__`):

1. the route: the token endpoint, or an endpoint the server registered (introspection,
   revocation; device authorization and CIBA when their features are on); another path
   is Flask's. A method other than POST is refused here (405, or OPTIONS' Allow).
2. the request (requests.py): parameters read cheaply, or by Werkzeug's parser for
   anything unusual; building it refuses plain http to a host that is not loopback.
3. the work, by the server Authlib hands the grants and endpoints (idp/oidc/server.py):
   - token: a repeated parameter refused (idp/oidc/parameters.py), the grant found by
     `grant_type`, its client authenticated and its request validated, the token made;
   - another endpoint: Authlib's endpoint, called with the request.
4. the answer (responses.py): JSON, no-store, the security headers. An OAuth error is
   Authlib's error answer; any other failure is answered as Flask's error handlers answer
   it at the other protocol endpoints (a 413, a 503 with Retry-After, a 500 that says
   nothing of its cause), so a client sees one format whatever failed.

The request's database session is closed before the answer leaves, committed or not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import InsecureTransportError, InvalidRequestError, OAuth2Error
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wsgi import get_current_url

from idp.errors import DatabaseUnavailableError, IdpError, ServiceUnavailableError
from idp.oidc.features import TOKEN_PATH
from idp.oidc.machine.requests import MachineRequest, read_parameters
from idp.oidc.machine.responses import Answer, Answers
from idp.oidc.parameters import refuse_repeated_parameters
from idp.oidc.server import OidcServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

Result = tuple[int, Any, list[tuple[str, str]]]  # Authlib's (status, payload, headers)
Route = Callable[[MachineRequest], Result]


class MachineEndpoints:
    """WSGI: the machine-to-machine endpoints of `server`; every other path to `wsgi_app`."""

    def __init__(
        self,
        wsgi_app: WSGIApplication,
        *,
        server: OidcServer,
        secure: bool,
        max_body: int,
        trusted_hosts: Collection[str] | None = None,
    ) -> None:
        self.wsgi_app = wsgi_app
        self.server = server
        self.answers = Answers(secure)
        self.max_body = max_body
        self.trusted_hosts = trusted_hosts
        self.routes: dict[str, Route] = {TOKEN_PATH: self.token}
        for endpoint in server.features.endpoints:
            self.routes[endpoint.path] = server.endpoint(endpoint.name)
        self._urls: dict[tuple[Any, ...], str] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        route = self.routes.get(environ.get("PATH_INFO", ""))
        if route is None:
            return self.wsgi_app(environ, start_response)
        answer = self.answer(route, environ)
        start_response(answer.status, answer.headers)
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [answer.body]

    def answer(self, route: Route, environ: WSGIEnvironment) -> Answer:
        method = environ.get("REQUEST_METHOD", "")
        if method == "OPTIONS":
            return self.answers.options()
        if method != "POST":
            return self.answers.method_not_allowed(method)
        try:
            request = MachineRequest(
                self._url(environ),
                environ,
                read_parameters(environ, self.max_body),
                self.server.database.factory,
            )
            try:
                return self.answers.json(*route(request))
            finally:
                request.close()
        except InsecureTransportError as error:
            # Behind a TLS proxy that does not send X-Forwarded-Proto (or with
            # IDP_TRUSTED_PROXIES at 0) every RP would get this: say so in the log.
            log.warning("plain http to %s refused: OAuth endpoints need https", _host(environ))
            return self.answers.json(*InvalidRequestError(description=error.description)())
        except OAuth2Error as error:
            return self.answers.json(*error())
        except Exception as exc:  # every failure gets an OAuth answer
            return self.failure(exc)

    # -- the routes ------------------------------------------------------------------------
    def token(self, request: MachineRequest) -> Result:
        """The token endpoint, as Authlib's AuthorizationServer.create_token_response runs
        it, after refusing a repeated parameter."""
        refuse_repeated_parameters(request)
        grant = self.server.get_token_grant(request)
        grant.validate_token_request()
        result: Result = grant.create_token_response()
        return result

    # -- what is not an OAuth error --------------------------------------------------------
    def failure(self, exc: Exception) -> Answer:
        """What idp/web/errors.py answers at the other protocol endpoints."""
        if isinstance(exc, RequestEntityTooLarge):
            description = f"the request is larger than {self.max_body} bytes"
            return self.answers.refusal(413, "invalid_request", description)
        if isinstance(exc, HTTPException):  # an untrusted Host, among others
            code = exc.code or 400
            error = "invalid_request" if code < 500 else "server_error"
            return self.answers.refusal(code, error, exc.description or exc.name)
        if self._database_down(exc):
            exc = DatabaseUnavailableError()
        if isinstance(exc, ServiceUnavailableError):
            log.error("service unavailable: %s", exc.part, exc_info=exc.__cause__)
            description = "the service is temporarily unavailable; nothing was changed"
            return self.answers.refusal(503, exc.code, description)
        if isinstance(exc, IdpError) and exc.expose:
            return self.answers.refusal(exc.status, exc.code, str(exc))
        log.exception("unhandled error", exc_info=exc)
        return self.answers.refusal(500, "server_error", "an unexpected error occurred")

    def _database_down(self, exc: Exception) -> bool:
        """SQLAlchemy's word for it, or the driver's own (PEP 249) from a raw connection
        (Accounts.is_active reads through one)."""
        if isinstance(exc, DBAPIError):
            return exc.connection_invalidated or isinstance(exc, OperationalError)
        driver = self.server.database.engine.dialect.loaded_dbapi
        return isinstance(exc, (driver.OperationalError, driver.InterfaceError))

    def _url(self, environ: WSGIEnvironment) -> str:
        """The request's URL without its query (Flask's `request.base_url`), remembered per
        host: it reads only these environ keys, and the path is one of a few routes."""
        key = (
            environ["wsgi.url_scheme"],
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"),
            environ.get("SCRIPT_NAME"),
            environ.get("PATH_INFO"),
        )
        url = self._urls.get(key)
        if url is None:  # an untrusted host raises SecurityError, a 400
            url = get_current_url(environ, strip_querystring=True, trusted_hosts=self.trusted_hosts)
            if len(self._urls) < 64:  # the Host header is the client's: keep a few
                self._urls[key] = url
        return url


def _host(environ: WSGIEnvironment) -> str:
    return str(environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "")
