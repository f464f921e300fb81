"""Requests both paths refuse, and refuse alike (sent both ways, compared byte for byte):
a parameter sent twice (RFC 6749 3.2), a client_id no client can have (a NUL, which
PostgreSQL cannot hold), a body over the size limit."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from tests.integration.oidc.fast_paths.support import basic


def test_a_repeated_introspection_parameter_is_refused_both_ways(introspect, rp, tokens):
    for name in ("token", "token_type_hint", "client_id"):
        pairs = [("token", tokens["access_token"]), (name, "x"), (name, "y")]
        answer = introspect({"headers": rp.basic, "data": MultiDict(pairs)})
        assert answer.status == 400, name
        assert answer.body == {
            "error": "invalid_request",
            "error_description": f"parameter {name} sent more than once",
        }


@pytest.mark.parametrize("name", ["refresh_token", "grant_type", "scope", "client_secret"])
def test_a_repeated_refresh_parameter_is_refused_both_ways(app, token, rp, tokens, name):
    pairs = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"]),
        ("client_id", rp.client_id),
        ("client_secret", rp.secret),
        ("scope", "openid"),
        (name, "x"),
    ]
    answer = token({"data": MultiDict(pairs)})
    assert answer.status == 400 and answer.body is not None
    assert answer.body["error"] == "invalid_request" and name in answer.body["error_description"]
    still = app.test_client().post(
        "/introspect", headers=rp.basic, data={"token": tokens["refresh_token"]}
    )
    assert still.json["active"] is True  # not rotated by either path


def test_a_repeated_client_credentials_parameter_is_refused_both_ways(token, register):
    service = register(grant_types=["client_credentials"], redirect_uris=[], scopes=["api"])
    pairs = [("grant_type", "client_credentials"), ("scope", "api"), ("scope", "api")]
    answer = token({"headers": service.basic, "data": MultiDict(pairs)})
    assert answer.status == 400 and answer.body is not None
    assert answer.body["error"] == "invalid_request"


@pytest.mark.parametrize("client_id", ["rp\x00x", "\x00", "r" * 65])
def test_a_client_id_no_client_can_have_is_invalid_client_both_ways(introspect, token, client_id):
    request = {"headers": basic(client_id, "secret"), "data": {"token": "x"}}
    assert introspect(request).status == 401
    refresh = {"grant_type": "refresh_token", "refresh_token": "x"}
    answer = token({"headers": basic(client_id, "secret"), "data": refresh})
    assert answer.status == 401 and answer.body is not None
    assert answer.body["error"] == "invalid_client"


def test_a_body_over_the_limit_is_an_oauth_413(introspect, rp, tokens):
    answer = introspect({"headers": rp.basic, "data": {"token": "x", "pad": "x" * 2**20}})
    assert answer.via_flask and answer.status == 413
    assert answer.body is not None and answer.body["error"] == "invalid_request"
    assert answer.headers["Cache-Control"] == "no-store"
