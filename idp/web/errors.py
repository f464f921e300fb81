"""Error pages in the person's language, with the status that fits; never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from idp.errors import (
    DatabaseUnavailableError,
    IdpError,
    ServiceUnavailableError,
    TooManyAttemptsError,
)

log = logging.getLogger(__name__)


def _page(status: int, title: str, message: str) -> tuple[str, int, dict[str, str]]:
    headers = {"Retry-After": "30"} if status == 503 else {}
    return (
        render_template("error.html", title=title, message=message, status=status),
        status,
        headers,
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(_e: CSRFError) -> tuple[str, int, dict[str, str]]:
        return _page(
            400,
            _("This page has expired"),
            _(
                "For your security the form could not be accepted. Go back, reload "
                "the page and try again."
            ),
        )

    @app.errorhandler(ServiceUnavailableError)
    def unavailable(e: ServiceUnavailableError) -> tuple[str, int, dict[str, str]]:
        log.error("service unavailable: %s", e.part, exc_info=e.__cause__)
        return _page(
            503,
            _("Service temporarily unavailable"),
            _(
                "We cannot complete your request right now. Nothing has been changed. "
                "Please try again in a few minutes."
            ),
        )

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_down(e: DBAPIError) -> tuple[str, int, dict[str, str]]:
        if not e.connection_invalidated and not isinstance(e, OperationalError):
            raise e
        return unavailable(DatabaseUnavailableError())

    @app.errorhandler(TooManyAttemptsError)
    def too_many(e: TooManyAttemptsError) -> tuple[str, int, dict[str, str]]:
        body, status, _headers = _page(
            429,
            _("Too many attempts"),
            _(
                "Too many failed attempts. Try again in %(minutes)d minutes.",
                minutes=max(1, -(-e.retry_after // 60)),
            ),
        )
        return body, status, {"Retry-After": str(max(e.retry_after, 1))}

    @app.errorhandler(IdpError)
    def idp_error(e: IdpError) -> tuple[str, int, dict[str, str]]:
        if not e.expose:
            log.exception("internal error", exc_info=e)
            return _page(500, _("Something went wrong"), _("Please try again later."))
        return _page(e.status, _("Request refused"), str(e))

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> tuple[str, int, dict[str, str]]:
        code = e.code or 500
        titles = {
            400: _("Bad request"),
            403: _("Forbidden"),
            404: _("Page not found"),
            405: _("Method not allowed"),
            413: _("Request too large"),
        }
        return _page(
            code,
            titles.get(code, _("Request refused")),
            _("Check the address, or go back to the previous page."),
        )

    @app.errorhandler(Exception)
    def unexpected(e: Exception) -> tuple[str, int, dict[str, str]]:
        log.exception("unhandled error", exc_info=e)
        return _page(
            500,
            _("Something went wrong"),
            _("An unexpected error occurred. Please try again later."),
        )
