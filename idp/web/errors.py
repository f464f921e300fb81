"""Error pages in the person's language, with the status that fits; never a traceback.

At the endpoints relying parties call in Flask (the `oidc` blueprint: discovery, JWKS,
userinfo; token, introspection and revocation are idp/oidc/machine's) the same failures
are answered in OAuth's format instead, a JSON `error` and an English
`error_description` (RFC 6749 5.2), whatever raised them: a body over
MAX_CONTENT_LENGTH, a method the route does not take, an outage, a bug.
"""

from __future__ import annotations

import json
import logging
import re

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from idp.errors import (
    DatabaseUnavailableError,
    IdpError,
    ServiceUnavailableError,
    TooManyAttemptsError,
)
from idp.oidc.parameters import DESCRIPTION_CHARS
from idp.web.error_words import STATUS_CODES, sentence, way_back
from idp.web.security import API_BLUEPRINT

log = logging.getLogger(__name__)

Answer = tuple[str, int, dict[str, str]]
NOT_IN_DESCRIPTION = re.compile(f"[^{DESCRIPTION_CHARS}]")


def _for_relying_parties() -> bool:
    """Whether the request went to a protocol endpoint. A routing error (405) has no
    endpoint yet: the route its path names for an allowed method tells."""
    if request.blueprint is not None:
        return request.blueprint == API_BLUEPRINT
    error = request.routing_exception
    if not isinstance(error, MethodNotAllowed) or not error.valid_methods:
        return False
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return False
    try:
        endpoint, _args = adapter.match(method=next(iter(error.valid_methods)))
    except HTTPException:
        return False
    return str(endpoint).startswith(API_BLUEPRINT + ".")


def _page(
    status: int,
    title: str,
    message: str,
    *,
    description: str,
    error: str | None = None,
    shown: str | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """An error page, or at a protocol endpoint the OAuth error: `error` (by default
    invalid_request for a 4xx, server_error otherwise) with `description`. The page
    shows `shown` (else `error`, else the status's name) in small print for the help
    desk, and a way back."""
    headers = dict(headers or {})
    if status == 503:
        headers.setdefault("Retry-After", "30")
    if _for_relying_parties():
        code = error or ("invalid_request" if status < 500 else "server_error")
        body = {"error": code, "error_description": NOT_IN_DESCRIPTION.sub("", description)}
        headers.update(
            {"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache"}
        )
        return json.dumps(body), status, headers
    code = shown or error or STATUS_CODES.get(status, str(status))
    return (
        render_template("error.html", title=title, message=message, status=status, code=code),
        status,
        headers,
    )


def init_app(app: Flask) -> None:
    app.add_template_global(way_back, "error_way_back")

    @app.errorhandler(CSRFError)
    def csrf_failed(_e: CSRFError) -> Answer:
        return _page(
            400,
            _("This page has expired"),
            sentence("form_expired"),
            description="the form's CSRF token is missing or expired",
            shown="form_expired",
        )

    @app.errorhandler(ServiceUnavailableError)
    def unavailable(e: ServiceUnavailableError) -> Answer:
        log.error("service unavailable: %s", e.part, exc_info=e.__cause__)
        return _page(
            503,
            _("Service temporarily unavailable"),
            sentence("temporarily_unavailable"),
            description="the service is temporarily unavailable; nothing was changed",
            error=e.code,
        )

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_down(e: DBAPIError) -> Answer:
        if not e.connection_invalidated and not isinstance(e, OperationalError):
            raise e
        return unavailable(DatabaseUnavailableError())

    @app.errorhandler(TooManyAttemptsError)
    def too_many(e: TooManyAttemptsError) -> Answer:
        return _page(
            429,
            _("Too many attempts"),
            _(
                "Too many failed attempts. Try again in %(minutes)d minutes.",
                minutes=max(1, -(-e.retry_after // 60)),
            ),
            description="too many attempts; try again later",
            error=e.code,
            headers={"Retry-After": str(max(e.retry_after, 1))},
        )

    @app.errorhandler(IdpError)
    def idp_error(e: IdpError) -> Answer:
        if not e.expose:
            log.exception("internal error", exc_info=e)
            return _page(
                500,
                _("Something went wrong"),
                sentence("server_error"),
                description="an internal error occurred",
            )
        return _page(
            e.status, _("Request refused"), sentence(e.code), description=str(e), error=e.code
        )

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Answer:
        code = e.code or 500
        titles = {
            400: _("Bad request"),
            403: _("Forbidden"),
            404: _("Page not found"),
            405: _("Method not allowed"),
            413: _("Request too large"),
        }
        descriptions = {
            405: f"{request.method} is not allowed here",
            413: f"the request is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes",
        }
        return _page(
            code,
            titles.get(code, _("Request refused")),
            sentence(STATUS_CODES[code])
            if code in STATUS_CODES
            else _("Check the address, or go back to the previous page."),
            description=descriptions.get(code) or e.description or e.name,
            headers=dict(e.get_headers()),  # a 405's Allow, among others
        )

    @app.errorhandler(Exception)
    def unexpected(e: Exception) -> Answer:
        log.exception("unhandled error", exc_info=e)
        return _page(
            500,
            _("Something went wrong"),
            sentence("server_error"),
            description="an unexpected error occurred",
        )
