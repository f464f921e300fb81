"""What every reference service shares: signed JSON in and out, fault injection, and
the command line each `connectors/<kind>/reference.py` runs as its `__main__`.

`signed_app()` refuses a request that is unsigned, wrongly signed, stale or replayed
(401), signs every answer, turns `ConnectorRejected` into 400 `{"error", "message"}`,
and serves `GET /v1/health` and the fault switch `POST /_control`
`{"mode": ..., "delay": seconds}`:

- `normal`: answer at once;
- `slow`: sleep `delay` seconds before answering (longer than the adapter's timeout);
- `fail`: answer 503 with `Retry-After`;
- `tamper`: alter each answer after signing it, as an attacker on the path would.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from connectors import signing, synthetic
from connectors.errors import ConnectorRejected

__all__ = ["MODES", "Faults", "json_body", "serve", "signed_app", "text_fields"]

MODES = ("normal", "slow", "fail", "tamper")
MAX_DELAY = 60.0


class Faults:
    def __init__(self) -> None:
        self.mode = "normal"
        self.delay = 0.0


class _Nonces:
    """Nonces seen within twice the allowed skew; older ones cannot pass the clock check."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_time(self, nonce: str, now: float) -> bool:
        with self._lock:
            if len(self._seen) > 10000:
                horizon = now - 2 * signing.MAX_SKEW
                self._seen = {n: t for n, t in self._seen.items() if t > horizon}
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


def _error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": code, "message": message}, ensure_ascii=False)
    return Response(body, status=status, mimetype="application/json")


def json_body() -> Mapping[str, Any]:
    """The request's JSON object, or ConnectorRejected (answered 400)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ConnectorRejected("malformed_request", "expected a JSON object")
    return data


def text_fields(*names: str) -> list[str]:
    """The named string members of the request's JSON object, or ConnectorRejected."""
    data = json_body()
    values = [data.get(name) for name in names]
    if not all(isinstance(v, str) for v in values):
        raise ConnectorRejected("malformed_request", f"{', '.join(names)} must be strings")
    return [str(v) for v in values]


def signed_app(import_name: str, key: bytes, clock: Callable[[], float] = time.time) -> Flask:
    key = signing.check_key(key)
    app = Flask(import_name)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    faults = Faults()
    nonces = _Nonces()
    app.extensions["reference.faults"] = faults

    @app.before_request
    def authenticate() -> Response | None:
        g.nonce = nonce = request.headers.get(signing.NONCE_HEADER, "")
        timestamp = request.headers.get(signing.TIMESTAMP_HEADER, "")
        query = request.query_string.decode("latin-1")
        target = request.path + (f"?{query}" if query else "")
        message = signing.request_message(
            request.method, target, timestamp, nonce, request.get_data()
        )
        now = clock()
        if not signing.fresh(timestamp, now):
            return _error(401, "stale_request", "timestamp missing or too far from our clock")
        if not signing.verify(key, message, request.headers.get(signing.SIGNATURE_HEADER)):
            return _error(401, "bad_signature", "signature missing or wrong")
        if not nonce or not nonces.first_time(nonce, now):
            return _error(401, "replayed_request", "nonce missing or already used")
        if request.path == "/_control":
            return None
        if faults.mode == "slow":
            time.sleep(faults.delay)
        if faults.mode == "fail":
            response = _error(503, "unavailable", "service unavailable (fault injected)")
            response.headers["Retry-After"] = "30"
            return response
        return None

    @app.after_request
    def sign_answer(response: Response) -> Response:
        body = response.get_data()
        timestamp = str(int(clock()))
        message = signing.response_message(
            response.status_code, g.get("nonce", ""), timestamp, body
        )
        response.headers[signing.TIMESTAMP_HEADER] = timestamp
        response.headers[signing.SIGNATURE_HEADER] = signing.sign(key, message)
        if faults.mode == "tamper" and request.path != "/_control":
            response.set_data(body.rstrip(b"}") + b',"tampered":true}')
        return response

    @app.errorhandler(ConnectorRejected)
    def rejected(exc: ConnectorRejected) -> Response:
        return _error(400, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = exc.code or 500
        return _error(code, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")

    @app.get("/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/_control")
    def control() -> dict[str, Any]:
        data = json_body()
        mode, delay = data.get("mode"), data.get("delay", 0)
        if mode not in MODES:
            raise ConnectorRejected("malformed_request", f"mode must be one of {', '.join(MODES)}")
        if not isinstance(delay, int | float) or not 0 <= delay <= MAX_DELAY:
            raise ConnectorRejected("malformed_request", f"delay must be 0-{MAX_DELAY:g} seconds")
        faults.mode, faults.delay = mode, float(delay)
        return {"mode": faults.mode, "delay": faults.delay}

    return app


def serve(
    create_app: Callable[[bytes, synthetic.Dataset | None], Flask],
    description: str,
    argv: list[str] | None = None,
    *,
    needs_data: bool = True,
) -> None:
    """`--port P --key-file F [--data F] [--host H]`: run the service until killed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key-file", required=True, help="shared key, hexadecimal")
    parser.add_argument(
        "--data", required=needs_data, help="synthetic data (python -m connectors.synthetic)"
    )
    args = parser.parse_args(argv)
    try:
        key = signing.load_key(args.key_file)
        data = synthetic.load(args.data) if args.data else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        parser.error(str(exc))
    # Request lines can carry phone numbers in query strings; keep them out of the log.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    create_app(key, data).run(args.host, args.port, threaded=True, use_reloader=False)
