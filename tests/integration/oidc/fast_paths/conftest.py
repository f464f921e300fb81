"""Fixtures of the introspection tests: `introspect` sends a request both ways (the fast
path, and forced to Flask) and asserts the same bytes; `tokens` signs in once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.test import Client

from idp.oidc import fast_introspection
from tests.integration.oidc.conftest import redeem
from tests.integration.oidc.introspection.support import Answer, Request, fast_layer


@pytest.fixture
def introspect(app, monkeypatch) -> Callable[..., Answer]:
    """Send one request both ways, assert the same bytes, return what it means."""
    layer = fast_layer(app)
    flask_app = layer.wsgi_app
    flask_calls: list[str] = []

    def counting(environ: Any, start_response: Any) -> Any:
        flask_calls.append(environ["PATH_INFO"])
        return flask_app(environ, start_response)

    monkeypatch.setattr(layer, "wsgi_app", counting)

    def send(request: Request | Callable[[], Request], **options: Any) -> Answer:
        def kwargs() -> Request:
            made = request() if callable(request) else request
            return {"path": "/introspect", "method": "POST", **made, **options}

        flask_calls.clear()
        fast = Client(app).open(**kwargs())
        via_flask = bool(flask_calls)
        with monkeypatch.context() as forced:
            forced.setattr(fast_introspection, "_is_plain", lambda environ: False)
            slow = Client(app).open(**kwargs())
        assert flask_calls, "the forced run did not reach Flask"
        assert fast.status == slow.status
        assert fast.headers.to_wsgi_list() == slow.headers.to_wsgi_list()
        assert fast.data == slow.data
        body = fast.json if fast.mimetype == "application/json" else None
        return Answer(fast.status_code, body, dict(fast.headers), via_flask)

    return send


@pytest.fixture
def tokens(app, browser, rp) -> dict[str, str]:
    code, verifier = browser.code_for(rp, scope="openid profile offline_access")
    response = redeem(app.test_client(), rp, code, verifier)
    assert response.status_code == 200
    return dict(response.json)
