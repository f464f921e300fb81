"""`idp client create --logo` and `idp client update --logo | --remove-logo` as an
operator runs them (real processes): PNG or JPEG within the limits is registered; any
other file is refused with a message that says why, and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.requester import images
from tests.integration.test_cli import idp, new_instance, ok, refused, remove_instance


@pytest.fixture(scope="module")
def migrated() -> Iterator[Path]:
    path = new_instance()
    ok(idp(path, "db", "upgrade"))
    yield path
    remove_instance(path)


def logo_of(instance: Path, name: str) -> list[bytes | None]:
    from sqlalchemy import select

    from app import create_app
    from idp.db import db
    from idp.oidc.models import Client

    app = create_app({"instance_dir": str(instance)})
    try:
        with app.app_context():
            return list(db.session.scalars(select(Client.logo).where(Client.name == name)))
    finally:
        app.extensions["idp.db"].engine.dispose()


def create(instance: Path, name: str, logo: Path, *extra: str):
    return idp(
        instance,
        "client", "create", "--name", name, "--redirect-uri", "https://rp.example.test/cb",
        "--logo", str(logo), *extra,
    )  # fmt: skip


def test_create_with_a_logo_then_change_and_remove_it(migrated, tmp_path):
    first, second = tmp_path / "a.png", tmp_path / "b.jpg"
    first.write_bytes(images.png())
    second.write_bytes(images.jpeg())
    client_id = json.loads(ok(create(migrated, "带标志的服务", first, "--json")))["client_id"]
    assert logo_of(migrated, "带标志的服务") == [images.png()]

    said = ok(idp(migrated, "client", "update", client_id, "--logo", str(second)))
    assert "logo registered" in said
    assert logo_of(migrated, "带标志的服务") == [images.jpeg()]
    ok(idp(migrated, "client", "update", client_id, "--remove-logo"))
    assert logo_of(migrated, "带标志的服务") == [None]


@pytest.mark.parametrize(
    "name, data, why",
    [
        ("svg", images.SVG, "not a PNG or JPEG image"),
        ("big", images.png(pad=70_000), "larger than 64 KB"),
        ("wide", images.png(1024, 16), "at most 512x512"),
        ("lying", images.lying_png(), "damaged header"),
    ],
)
def test_a_refused_file_is_explained_and_changes_nothing(migrated, tmp_path, name, data, why):
    logo = tmp_path / f"logo.{name}"
    logo.write_bytes(data)
    done = create(migrated, f"refused-{name}", logo)
    assert done.returncode == 1 and why in done.stderr and "Traceback" not in done.stderr
    assert logo_of(migrated, f"refused-{name}") == []  # no client

    good = tmp_path / "good.png"
    good.write_bytes(images.png())
    client_id = json.loads(ok(create(migrated, f"kept-{name}", good, "--json")))["client_id"]
    answer = refused(idp(migrated, "client", "update", client_id, "--logo", str(logo), "--json"))
    assert answer["field"] == "logo" and why in str(answer["error_description"])
    assert logo_of(migrated, f"kept-{name}") == [images.png()]


def test_update_needs_exactly_one_change_and_a_known_client(migrated, tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(images.png())
    assert idp(migrated, "client", "update", "x").returncode == 2  # usage
    unknown = idp(migrated, "client", "update", "no-such-client", "--logo", str(good))
    assert unknown.returncode == 1 and "is not registered" in unknown.stderr
