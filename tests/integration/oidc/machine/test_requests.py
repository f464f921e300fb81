"""Requests the pipeline reads, whatever their shape: the ordinary small form and the
unusual ones (a query string, chunked, multipart, a charset, a body that is not UTF-8, a
large one) mean what Flask's parser would make of them; repeated parameters, other
methods, plain http and oversized bodies are refused in OAuth's JSON and change nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from tests.integration.oidc.machine.conftest import (
    FORM,
    HTTPS_REQUIRED,
    NOT_ACTIVE,
    ask,
    assert_always,
    refresh,
)

PATHS = ("/token", "/introspect", "/revoke")


def active(response: Any) -> bool:
    assert response.status_code == 200, (response.status_code, response.data[:300])
    return bool(response.json["active"])


# -- shapes of a request ------------------------------------------------------------------
def test_unusual_requests_are_read_as_werkzeug_reads_them(app, rp, tokens):
    token = tokens["access_token"]
    body = f"token={token}".encode()
    client = app.test_client()
    read = {
        "a query string": {"data": {"token": token}, "query_string": "x=1"},
        "multipart": {"data": {"token": token}, "content_type": "multipart/form-data"},
        "a charset": {"data": body, "content_type": FORM + "; charset=UTF-8"},
        "another case": {"data": body, "content_type": "Application/X-WWW-Form-Urlencoded"},
        "a large body": {"data": {"token": token, "pad": "x" * 20_000}},
    }
    for name, request in read.items():
        assert active(client.post("/introspect", headers=rp.basic, **request)), name


def test_a_chunked_body_is_read(app, rp, tokens):
    """No Content-Length: a server that ends the stream itself says so
    (wsgi.input_terminated), and the body is read to its end."""
    body = f"token={tokens['access_token']}".encode()
    response = app.test_client().open(
        "/introspect",
        method="POST",
        input_stream=io.BytesIO(body),
        headers={**rp.basic, "Transfer-Encoding": "chunked", "Content-Type": FORM},
    )
    assert active(response)


@pytest.mark.parametrize(
    "request_",
    [
        {"json": {"token": "x"}},
        {"data": b"token=x", "content_type": "text/plain"},
        {"data": b"token=x&y=\xff", "content_type": FORM},  # not UTF-8: an empty form
        {"environ_overrides": {"wsgi.input": io.BytesIO(b"token=x"), "CONTENT_TYPE": FORM}},
    ],
    ids=["JSON", "text", "not UTF-8", "no length and no end"],
)
def test_a_body_that_is_not_a_form_holds_no_parameters(app, rp, request_):
    client = app.test_client()
    introspection = client.post("/introspect", headers=rp.basic, **request_)
    assert introspection.status_code == 400 and introspection.json == {"error": "invalid_request"}
    token = client.post("/token", headers=rp.basic, **request_)
    assert token.status_code == 400 and token.json == {"error": "unsupported_grant_type"}


@pytest.mark.parametrize(
    "raw", [b"token=%ff%fe", b"token=a+b%20c&token_type_hint=", b"token&x=%zz"]
)
def test_odd_escapes_are_decoded_as_werkzeug_decodes_them(app, rp, raw):
    response = app.test_client().post("/introspect", headers=rp.basic, data=raw, content_type=FORM)
    assert response.status_code == 200 and response.json == NOT_ACTIVE


def test_query_parameters_count_as_parameters(app, service):
    response = app.test_client().post(
        "/token?scope=api", headers=service.basic, data={"grant_type": "client_credentials"}
    )
    assert response.status_code == 200 and response.json["scope"] == "api"


# -- refusals that change nothing ---------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
def test_a_repeated_parameter_is_refused_by_name(app, rp, tokens, path):
    client = app.test_client()
    if path == "/token":
        pairs = [("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"])]
        repeated = "refresh_token"
    else:
        pairs = [("token", tokens["refresh_token"])]
        repeated = "token"
    for request in (
        {"data": MultiDict([*pairs, (repeated, "x")])},
        {"data": MultiDict(pairs), "query_string": {repeated: "x"}},  # query and body
    ):
        answer = client.post(path, headers=rp.basic, **request)
        assert answer.status_code == 400
        assert answer.json == {
            "error": "invalid_request",
            "error_description": f"parameter {repeated} sent more than once",
        }
        assert_always(answer.headers)
    still = client.post("/introspect", **ask(rp, tokens["refresh_token"]))
    assert still.json["active"] is True  # neither rotated nor revoked


@pytest.mark.parametrize("path", PATHS)
def test_a_body_over_the_limit_is_an_oauth_413(app, rp, path):
    form = {"token": "x", "grant_type": "client_credentials", "pad": "x" * 2**20}
    answer = app.test_client().post(path, headers=rp.basic, data=form)
    assert answer.status_code == 413
    assert answer.json == {
        "error": "invalid_request",
        "error_description": "the request is larger than 1048576 bytes",
    }
    assert_always(answer.headers)


@pytest.mark.parametrize("path", PATHS)
def test_plain_http_to_another_host_is_refused_and_logged(app, rp, tokens, path, caplog):
    form = {"token": tokens["refresh_token"], **refresh(rp, tokens["refresh_token"])["data"]}
    answer = app.test_client().post(
        path, headers=rp.basic, data=form, base_url="http://idp.example.gov.cn/"
    )
    assert answer.status_code == 400 and answer.json == HTTPS_REQUIRED
    assert "WWW-Authenticate" not in answer.headers
    assert_always(answer.headers)
    assert "plain http to idp.example.gov.cn refused" in caplog.text
    still = app.test_client().post("/introspect", **ask(rp, tokens["refresh_token"]))
    assert still.json["active"] is True


# -- methods ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_another_method_is_an_oauth_405_with_allow(app, path, method):
    answer = app.test_client().open(path, method=method)
    assert answer.status_code == 405
    assert answer.json == {
        "error": "invalid_request",
        "error_description": f"{method} is not allowed here",
    }
    assert answer.headers["Allow"] == "OPTIONS, POST"
    assert_always(answer.headers)


@pytest.mark.parametrize("path", PATHS)
def test_head_and_options(app, path):
    head = app.test_client().head(path)
    assert head.status_code == 405 and head.data == b""
    options = app.test_client().options(path)
    assert options.status_code == 200 and options.data == b""
    assert options.headers["Allow"] == "OPTIONS, POST"


def test_other_paths_are_flasks(app):
    for path in ("/token/", "/tokens", "/introspect/x"):
        response = app.test_client().post(path)
        assert response.status_code == 404 and response.mimetype == "text/html", path


def test_cookies_and_languages_change_nothing(app, rp, tokens):
    headers = {
        **rp.basic,
        "Cookie": "idp_sid=stale; idp_state=garbage; idp_lang=en",
        "Accept-Language": "en",
    }
    response = app.test_client().post(
        "/introspect", headers=headers, data={"token": tokens["access_token"]}
    )
    assert active(response)
    assert "Set-Cookie" not in response.headers and "Vary" not in response.headers
