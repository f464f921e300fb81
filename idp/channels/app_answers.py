"""What the app API answers when it does not do what was asked: JSON, always, in OAuth's
shape (`error`, `error_description`), with `WWW-Authenticate` for a refused token or
proof; never an HTML page, whatever failed (an unknown path, a method, an outage, a bug).
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from idp.errors import IdpError, ServiceUnavailableError

log = logging.getLogger(__name__)

Answer = tuple[Response, int, dict[str, str]]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class AppApiError(Exception):
    """An answer to the app: status, OAuth-style `error` and `error_description`."""

    def __init__(
        self, status: int, error: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description
        self.headers = headers or {}


def refuse(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> NoReturn:
    raise AppApiError(status, error, description, headers)


def challenge(scheme: str, error: str, reason: str) -> dict[str, str]:
    """RFC 6750 3 / RFC 9449 7.1: how to authenticate here, and what was wrong."""
    safe = "".join(c for c in reason if c.isprintable() and c not in '"\\')
    algs = ' algs="ES256",' if scheme == "DPoP" else ""
    return {"WWW-Authenticate": f'{scheme}{algs} error="{error}", error_description="{safe}"'}


def body() -> dict[str, Any]:
    """The request's JSON object."""
    found = request.get_json(silent=True)
    if not isinstance(found, dict):
        refuse(400, "invalid_request", "the body must be a JSON object (application/json)")
    return found


def json_error(error: AppApiError) -> Answer:
    answer = jsonify(error=error.error, error_description=error.description)
    return answer, error.status, {"Cache-Control": "no-store", **error.headers}


def answer_in_json(bp: Blueprint) -> None:
    """Every failure under `bp` in JSON, an unknown path and a wrong method included."""
    catch_all = f"{bp.name}.unknown"

    @bp.route("/", methods=METHODS)
    @bp.route("/<path:rest>", methods=METHODS)
    def unknown(rest: str = "") -> NoReturn:
        adapter = current_app.create_url_adapter(request)
        allowed = set()
        for method in ("GET", "POST", "DELETE"):
            try:
                endpoint, _ = adapter.match(request.path, method=method) if adapter else ("", {})
            except HTTPException:
                continue
            if endpoint != catch_all:
                allowed.add(method)
        if allowed:
            allow = {"Allow": ", ".join(sorted(allowed))}
            refuse(405, "invalid_request", f"{request.method} is not allowed here", allow)
        refuse(404, "not_found", "no such app API endpoint")

    bp.register_error_handler(AppApiError, json_error)
    bp.register_error_handler(HTTPException, _http_error)
    for unavailable in (ServiceUnavailableError, OperationalError):
        bp.register_error_handler(unavailable, _unavailable)
    for unexpected in (IdpError, DBAPIError, Exception):
        bp.register_error_handler(unexpected, _unexpected)


def _http_error(error: HTTPException) -> Answer:
    code = error.code or 500
    return json_error(AppApiError(code, "invalid_request", error.description or error.name))


def _unavailable(error: Exception) -> Answer:
    log.error("app API: a part is unavailable", exc_info=error)
    retry = {"Retry-After": "30"}
    return json_error(AppApiError(503, "temporarily_unavailable", "try again later", retry))


def _unexpected(error: Exception) -> Answer:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return _unavailable(error)
    if isinstance(error, IdpError) and error.expose:
        return json_error(AppApiError(error.status, error.code, str(error)))
    log.exception("app API: unexpected error", exc_info=error)
    return json_error(AppApiError(500, "server_error", "an unexpected error occurred"))
