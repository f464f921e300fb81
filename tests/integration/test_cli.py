"""The `idp` console script as an operator runs it: a real process, its exit code, its
output. Bad configuration and unavailable parts are one readable line, never a traceback;
phone numbers are masked; counter registration refuses what the web refuses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from idp.store import embedded
from migrations import runner
from tests.servers import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IDP = BIN / "idp"
FLASK = BIN / "flask"
GOOD_PASSWORD = "quiet-lantern-2026"


def environment(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
    env.update(
        IDP_INSTANCE_DIR=str(instance),
        IDP_PASSWORD_TIME_COST="1",
        IDP_PASSWORD_MEMORY_KIB="8192",
        **extra,
    )
    return env


def idp(
    instance: Path,
    *args: str,
    stdin: str | None = None,
    cwd: Path = REPO,
    exe: Path = IDP,
    timeout: float = 60,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(exe), *args],
        env=environment(instance, **env),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stdout}{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout


def refused(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    """A refused `--json` command: exit 1, one JSON line on stdout, no traceback."""
    assert done.returncode == 1, f"exit {done.returncode}:\n{done.stdout}{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert answer["ok"] is False and answer["error"]
    return answer


def create(
    instance: Path, username: str, phone: str, password: str = GOOD_PASSWORD
) -> subprocess.CompletedProcess[str]:
    return idp(
        instance,
        "person",
        "create",
        "--username",
        username,
        "--phone",
        phone,
        "--password",
        password,
        "--json",
    )


def check_password(instance: Path, identifier: str, password: str) -> bool:
    """Look in the instance's database the way the web app does."""
    from app import create_app
    from idp import context
    from idp.db import db

    app = create_app({"instance_dir": str(instance)})
    try:
        with app.app_context():
            person = context.accounts().find_by_login(db.session, identifier)
            return person is not None and context.accounts().check_password(person, password)
    finally:
        app.extensions["idp.db"].engine.dispose()


def new_instance() -> Path:
    return Path(tempfile.mkdtemp(prefix="idp-")) / "i"


def remove_instance(instance: Path) -> None:
    embedded.stop(instance)  # in case a command started the embedded Redis
    shutil.rmtree(instance.parent, ignore_errors=True)


@pytest.fixture
def instance() -> Iterator[Path]:
    """A fresh, empty instance directory (short: it may hold a unix socket)."""
    path = new_instance()
    yield path
    remove_instance(path)


@pytest.fixture(scope="module")
def migrated() -> Iterator[Path]:
    """One migrated instance shared by the person tests (each uses its own phone numbers)."""
    path = new_instance()
    ok(idp(path, "db", "upgrade"))
    yield path
    remove_instance(path)


# -- configuration ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("variable", "value", "command"),
    [
        ("IDP_ISSUER", "ftp://x", ["db", "current"]),
        ("IDP_LOGIN_MAX_FAILURES", "500", ["serve", "--port", "1"]),
        (
            "IDP_DATABASE_URL",
            "mysql://x/y",
            ["person", "create", "--phone", "17000000200", "--json"],
        ),
    ],
)
def test_bad_configuration_is_one_line_and_exit_code_2(instance, variable, value, command):
    done = idp(instance, *command, **{variable: value})
    assert done.returncode == 2
    assert done.stderr.startswith("idp: configuration error:")
    assert variable in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


def test_instance_dir_too_long_for_the_embedded_redis_is_named(instance):
    long_dir = instance / ("x" * 110)
    done = idp(long_dir, "serve", "--port", "1", timeout=30)
    assert done.returncode == 2
    assert done.stderr.startswith("idp: configuration error: IDP_INSTANCE_DIR")
    assert "Traceback" not in done.stderr


# -- person create --------------------------------------------------------------------------
def test_person_create_prints_a_masked_phone_only(migrated):
    done = create(migrated, "user1", "17000000201")
    answer = json.loads(ok(done))
    assert answer["ok"] is True
    assert answer["person"]["username"] == "user1"
    assert answer["person"]["phone"] == "170****0201"
    assert answer["person"]["status"] == "active"
    assert "17000000201" not in done.stdout + done.stderr
    # stored sealed, not in clear, in any of the SQLite files
    for path in migrated.glob("idp.db*"):
        assert b"17000000201" not in path.read_bytes(), path.name
    assert check_password(migrated, "user1", GOOD_PASSWORD)
    assert check_password(migrated, "17000000201", GOOD_PASSWORD)


def test_person_create_without_json_says_what_was_created(migrated):
    done = idp(
        migrated,
        "person",
        "create",
        "--username",
        "user7",
        "--phone",
        "17000000207",
        "--password",
        GOOD_PASSWORD,
    )
    assert "created person" in ok(done) and "170****0207" in done.stdout
    again = idp(
        migrated,
        "person",
        "create",
        "--username",
        "user8",
        "--phone",
        "17000000207",
        "--password",
        GOOD_PASSWORD,
    )
    assert again.returncode == 1
    assert again.stderr.strip() == "idp: a person with this phone already exists"
    assert "17000000207" not in again.stdout + again.stderr


def test_the_same_phone_or_username_twice_is_refused(migrated):
    ok(create(migrated, "user2", "17000000202"))
    same_phone = create(migrated, "user2b", "+86 170 0000 0202")
    assert refused(same_phone)["field"] == "phone"
    assert "17000000202" not in same_phone.stdout + same_phone.stderr
    assert refused(create(migrated, "USER2", "17000000212"))["field"] == "username"
    assert not check_password(migrated, "user2b", GOOD_PASSWORD)  # nothing half-created


def test_a_common_password_is_refused_and_nothing_is_created(migrated):
    answer = refused(create(migrated, "user3", "17000000203", "password123"))
    assert answer["field"] == "password" and answer["rule"] == "common"
    # the phone number is still free
    ok(create(migrated, "user3", "17000000203"))


@pytest.mark.parametrize("phone", ["1700000020", "27000000204"])
def test_a_bad_phone_number_is_refused(migrated, phone):
    answer = refused(create(migrated, "user4", phone))
    assert answer["field"] == "phone" and answer["rule"] == "format"


def test_password_dash_reads_standard_input(migrated):
    password = "harbour-kettle-2031"
    done = idp(
        migrated,
        "person",
        "create",
        "--username",
        "user5",
        "--phone",
        "17000000205",
        "--password",
        "-",
        "--json",
        stdin=password + "\n",
    )
    assert json.loads(ok(done))["ok"] is True
    assert password not in done.stdout + done.stderr
    assert check_password(migrated, "user5", password)
    assert not check_password(migrated, "user5", "-")


def test_demo_seed_is_idempotent(instance):
    ok(idp(instance, "db", "upgrade"))
    first = json.loads(ok(idp(instance, "demo", "seed", "--json")))
    second = json.loads(ok(idp(instance, "demo", "seed", "--json")))
    assert first["created"] is True and second["created"] is False
    assert first["username"] == second["username"] == "demo"
    assert first["login_url"].endswith("/login")
    assert check_password(instance, first["username"], first["password"])


def test_demo_rp_follows_the_provider_when_its_address_changes(instance):
    """`make run PORT=8100` moves the issuer; the demo RP must be told, not left at :8000."""
    ok(idp(instance, "db", "upgrade"))
    ok(idp(instance, "demo", "seed", IDP_ISSUER="http://127.0.0.1:8000"))
    registration = instance / "demo_rp.json"
    before = json.loads(registration.read_text())
    ok(idp(instance, "demo", "seed", IDP_ISSUER="http://127.0.0.1:8000"))
    assert json.loads(registration.read_text()) == before  # same address: left alone
    moved = json.loads(
        ok(idp(instance, "demo", "seed", "--json", IDP_ISSUER="http://127.0.0.1:8100"))
    )
    after = json.loads(registration.read_text())
    assert moved["demo_rp"] == "created" and moved["login_url"] == "http://127.0.0.1:8100/login"
    assert after["issuer"] == "http://127.0.0.1:8100"
    assert after["client_secret"] != before["client_secret"]  # registered again


# -- db and serve -----------------------------------------------------------------------------
def test_serve_on_a_database_never_migrated_says_run_db_upgrade(instance):
    started = time.monotonic()
    done = idp(instance, "serve", "--port", str(free_port()), timeout=30)
    assert done.returncode == 2
    assert time.monotonic() - started < 20
    assert done.stderr.startswith("idp: cannot start:")
    assert "run `idp db upgrade`" in done.stderr
    assert "Traceback" not in done.stderr and "serving" not in done.stdout
    # the embedded Redis that the readiness check started is not left running
    assert not (instance / "redis.pid").exists()
    assert not (instance / embedded.SOCKET_NAME).exists()


def revision(instance: Path) -> str | None:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{instance / 'idp.db'}")
    try:
        return runner.current(engine)
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(instance):
    head = runner.head()
    assert ok(idp(instance, "db", "upgrade")).strip() == f"database at revision {head}"
    assert revision(instance) == head
    assert ok(idp(instance, "db", "downgrade", "base")).strip() == "database at revision base"
    assert revision(instance) is None
    assert ok(idp(instance, "db", "current")).strip() == "base"
    assert ok(idp(instance, "db", "upgrade")).strip() == f"database at revision {head}"
    assert revision(instance) == head


def test_flask_cli_runs_the_same_commands(migrated):
    assert ok(idp(migrated, "--app", "app", "db", "current", exe=FLASK)).strip() == runner.head()


def test_idp_works_from_any_directory(instance):
    instance.mkdir(parents=True)
    assert ok(idp(instance, "db", "current", cwd=instance)).strip() == "base"


@pytest.mark.parametrize(
    "command",
    [
        ["db", "upgrade"],
        ["db", "current"],
        ["db", "downgrade", "base"],
        ["demo", "seed"],
        ["person", "create", "--phone", "17000000201", "--password", GOOD_PASSWORD],
    ],
    ids=" ".join,
)
def test_a_database_that_does_not_answer_is_one_line_not_a_traceback(instance, command):
    url = f"postgresql+psycopg://test@127.0.0.1:{free_port()}/idp"  # nothing listens there
    done = idp(instance, *command, IDP_DATABASE_URL=url, timeout=30)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("idp: database unavailable")
