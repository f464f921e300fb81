"""`idp client create` as an operator runs it (a real process): scope tokens split and
checked against the supported list, ids and names no request or column could carry, and
resource servers that must be registered confidential clients. Nothing refused is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_cli import idp, new_instance, ok, refused, remove_instance


@pytest.fixture(scope="module")
def migrated() -> Iterator[Path]:
    path = new_instance()
    ok(idp(path, "db", "upgrade"))
    yield path
    remove_instance(path)


def stored_scopes(instance: Path, name: str) -> list[list[str]]:
    """The scopes of every client called `name`, as the database holds them."""
    from sqlalchemy import select

    from app import create_app
    from idp.db import db
    from idp.oidc.models import Client

    app = create_app({"instance_dir": str(instance)})
    try:
        with app.app_context():
            return [
                list(c.scopes)
                for c in db.session.scalars(select(Client).where(Client.name == name))
            ]
    finally:
        app.extensions["idp.db"].engine.dispose()


def client_create(instance: Path, name: str, *scopes: str, json_out: bool = True, **kw: str):
    args = ["client", "create", "--name", name, "--redirect-uri", "https://rp.example.test/cb"]
    for scope in scopes:
        args += ["--scope", scope]
    for option, value in kw.items():
        args += [f"--{option.replace('_', '-')}", value]
    return idp(instance, *args, *(["--json"] if json_out else []))


def test_a_space_separated_scope_is_split_into_tokens(migrated):
    answer = json.loads(ok(client_create(migrated, "split-rp", "openid profile", "phone")))
    assert answer["scope"] == "openid profile phone"
    assert stored_scopes(migrated, "split-rp") == [["openid", "profile", "phone"]]


def test_repeated_scope_options_still_work(migrated):
    ok(client_create(migrated, "repeat-rp", "openid", "profile", "openid"))
    assert stored_scopes(migrated, "repeat-rp") == [["openid", "profile"]]


@pytest.mark.parametrize("scope", ["no-such-scope", "openid no-such-scope", 'open"id', " "])
def test_an_unsupported_scope_is_refused_and_nothing_is_stored(migrated, scope):
    answer = refused(client_create(migrated, "bad-scope-rp", scope))
    assert answer["error"] == "invalid_client_metadata" and answer["field"] == "scope"
    done = client_create(migrated, "bad-scope-rp", scope, json_out=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("idp: invalid client metadata: scope:"), done.stderr
    assert stored_scopes(migrated, "bad-scope-rp") == []


def test_a_client_credentials_client_may_have_api_scopes(migrated):
    done = client_create(migrated, "api-service", "api", grant_type="client_credentials")
    ok(done)
    assert stored_scopes(migrated, "api-service") == [["api"]]


@pytest.mark.parametrize("client_id", ["rp\x01x", "社保系统", "r" * 65])
def test_a_client_id_no_request_could_carry_is_refused(migrated, client_id):
    answer = refused(client_create(migrated, "bad-id-rp", "openid", client_id=client_id))
    assert answer["field"] == "client_id"
    assert stored_scopes(migrated, "bad-id-rp") == []


def test_a_name_too_long_for_its_column_is_refused(migrated):
    answer = refused(idp(migrated, "client", "create", "--name", "名" * 129,
                         "--redirect-uri", "https://rp.example.test/cb", "--json"))  # fmt: skip
    assert answer["field"] == "client_name"


def test_resource_servers_are_registered_confidential_clients(migrated):
    api = json.loads(ok(client_create(migrated, "api", "api", grant_type="client_credentials")))
    rp = json.loads(
        ok(client_create(migrated, "served-rp", "openid", resource_server=api["client_id"]))
    )
    assert rp["resource_servers"] == [api["client_id"]]
    public = json.loads(
        ok(client_create(migrated, "public-rp", "openid", token_endpoint_auth_method="none"))
    )
    for bad in ("no-such-client", public["client_id"]):
        answer = refused(client_create(migrated, "bad-rs-rp", "openid", resource_server=bad))
        assert answer["field"] == "resource_servers", answer
    assert stored_scopes(migrated, "bad-rs-rp") == []
