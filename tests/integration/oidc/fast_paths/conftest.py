"""Fixtures of the fast-path tests: `introspect` and `token` send a request both ways (the
fast path, and forced to Flask) and compare the answers; `tokens` signs in once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from idp.oidc import fast_paths
from tests.integration.oidc.conftest import redeem
from tests.integration.oidc.fast_paths.support import (
    Answer,
    Request,
    assert_same_bytes,
    assert_same_token_answer,
    fast_layer,
)

Sent = tuple[TestResponse, TestResponse, bool]


@pytest.fixture
def both_ways(app, monkeypatch) -> Callable[..., Sent]:
    """send(path, request, **options): (the fast answer, Flask's answer, whether the fast
    path handed the request to Flask). `request` may be a callable making a fresh one."""
    layer = fast_layer(app)
    flask_app = layer.wsgi_app
    flask_calls: list[str] = []

    def counting(environ: Any, start_response: Any) -> Any:
        flask_calls.append(environ["PATH_INFO"])
        return flask_app(environ, start_response)

    monkeypatch.setattr(layer, "wsgi_app", counting)

    def send(path: str, request: Request | Callable[[], Request], **options: Any) -> Sent:
        def kwargs() -> Request:
            made = request() if callable(request) else request
            return {"path": path, "method": "POST", **made, **options}

        made = kwargs()  # first: making it may take requests of its own (a sign-in)
        flask_calls.clear()
        fast = Client(app).open(**made)
        via_flask = bool(flask_calls)
        made = kwargs()
        flask_calls.clear()
        with monkeypatch.context() as forced:
            forced.setattr(fast_paths, "_is_plain", lambda environ: False)
            slow = Client(app).open(**made)
        assert flask_calls, "the forced run did not reach Flask"
        return fast, slow, via_flask

    return send


def _answer(response: TestResponse, via_flask: bool) -> Answer:
    body = response.json if response.mimetype == "application/json" else None
    return Answer(response.status_code, body, dict(response.headers), via_flask)


@pytest.fixture
def introspect(both_ways) -> Callable[..., Answer]:
    """Send one request both ways, assert the same bytes, return what it means."""

    def send(request: Request | Callable[[], Request], **options: Any) -> Answer:
        fast, slow, via_flask = both_ways("/introspect", request, **options)
        assert_same_bytes(fast, slow)
        return _answer(fast, via_flask)

    return send


@pytest.fixture
def token(both_ways) -> Callable[..., Answer]:
    """Send one token request both ways. Refusals must be the same bytes; issued tokens
    differ in their random and time-dependent parts only (assert_same_token_answer)."""

    def send(request: Request | Callable[[], Request], **options: Any) -> Answer:
        fast, slow, via_flask = both_ways("/token", request, **options)
        if fast.status_code == 200 or slow.status_code == 200:
            assert_same_token_answer(fast, slow)
        else:
            assert_same_bytes(fast, slow)
        return _answer(fast, via_flask)

    return send


@pytest.fixture
def tokens(app, browser, rp) -> dict[str, str]:
    code, verifier = browser.code_for(rp, scope="openid profile offline_access")
    response = redeem(app.test_client(), rp, code, verifier)
    assert response.status_code == 200
    return dict(response.json)
