"""Why the app could not do something, in one line, and reading the provider's answers."""

from __future__ import annotations

from typing import Any

import requests


class AppError(Exception):
    """Something the app could not do; `str()` is a one-line reason for the person."""


def brief(exc: BaseException) -> str:
    """An exception as one short line (requests' messages nest and run long)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or no route to the provider"
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    return (text[:160] + "…" if len(text) > 160 else text) or exc.__class__.__name__


def json_of(response: requests.Response, what: str) -> dict[str, Any]:
    """The JSON object of a successful answer; AppError with the provider's own reason
    (`error_description`, `error`) otherwise."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code < 400 and isinstance(body, dict):
        return body
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        reason = body.get("error_description") or body["error"]
        raise AppError(f"{what} refused: {reason} ({body['error']}, HTTP {response.status_code})")
    raise AppError(f"{what} answered HTTP {response.status_code} without a JSON object")
