"""`idp-app`, the reference app, as a separate program against `idp serve` run as a user
runs it: enrol through the sign-in form, list, scan, approve (with a face too) and deny;
and its failures: one line on standard error, a non-zero status, no traceback.

Approvals are made the way a channel makes them, in the provider's own Redis."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from connectors import synthetic
from idp.authn.approvals import Approval, ApprovalKind, Approvals, ApprovalState, user_code_alias
from idp.store import ArtifactStore, connect, embedded
from tests.e2e.conftest import IDP, REPO, Provider, provider  # noqa: F401 (the fixture)
from tests.servers import free_port

IDP_APP = Path(sys.executable).parent / "idp-app"  # the console script of this virtualenv
ME = [p for p in synthetic.generate().persons if p.status == "alive"][14]
PASSWORD = "teapot-harbour-2026"

pytestmark = pytest.mark.slow


def idp_app(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # No IDP_* settings reach it: it is a separate program that only talks HTTP.
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    return subprocess.run(
        [str(IDP_APP), *map(str, args)],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def refused(done: subprocess.CompletedProcess[str]) -> str:
    """The one-line reason of a failed run."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("idp-app: "), done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def store(provider: Provider) -> ArtifactStore:  # noqa: F811
    return connect(embedded.socket_url(Path(provider.env["IDP_INSTANCE_DIR"])))


@pytest.fixture(scope="module")
def me(provider: Provider) -> dict[str, str]:  # noqa: F811
    """A real-named person (loa 3), registered at the counter."""
    done = subprocess.run(
        [
            str(IDP),
            "person",
            "create",
            "--json",
            "--username",
            "app-user",
            "--phone",
            "17000000931",
            "--password",
            PASSWORD,
            "--name",
            ME.name,
            "--id-number",
            "-",
        ],
        input=ME.id_number + "\n",
        env=provider.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {"id": json.loads(done.stdout)["person"]["id"], "username": "app-user"}


@pytest.fixture(scope="module")
def phone(provider: Provider, me: dict[str, str], tmp_path_factory) -> Path:  # noqa: F811
    """The state file of an `idp-app` enrolled for `me`."""
    state = tmp_path_factory.mktemp("phone") / "state.json"
    ok(
        idp_app(
            "--state",
            state,
            "enrol",
            "--issuer",
            provider.url,
            "--username",
            me["username"],
            "--password",
            "-",
            "--name",
            "测试手机",
            stdin=PASSWORD + "\n",
        )
    )
    return state


def approval(store: ArtifactStore, alias: str | None = None, **fields: Any) -> Approval:
    base: dict[str, Any] = {
        "kind": ApprovalKind.qr,
        "txn_id": "txn-cli",
        "client_name": "测试公积金服务",
        "expires_at": int(time.time()) + 120,
    }
    return Approvals(store).create(Approval(**{**base, **fields}), alias=alias)


# -- happy paths ----------------------------------------------------------------------------
def test_enrol_keeps_the_key_in_a_file_only_its_owner_reads(phone: Path, provider: Provider):  # noqa: F811
    assert stat.S_IMODE(phone.stat().st_mode) == 0o600
    kept = json.loads(phone.read_text())
    assert kept["issuer"] == provider.url and kept["client_id"] == "gov-idp-app"
    assert kept["key"]["kty"] == "EC" and "d" in kept["key"] and kept["device_id"]
    [device] = ok(idp_app("--state", phone, "devices", "--json"))
    assert (device["device_id"], device["name"], device["this_device"]) == (
        kept["device_id"],
        "测试手机",
        True,
    )


def test_a_request_for_me_is_listed_then_approved(phone: Path, store: ArtifactStore, me):
    made = approval(store, kind=ApprovalKind.ciba, person_id=me["id"], binding_message="核对码 42")
    listed = ok(idp_app("--state", phone, "pending", "--json"))
    assert {k: listed[0][k] for k in ("id", "kind", "client_name", "binding_message")} == {
        "id": made.id,
        "kind": "ciba",
        "client_name": "测试公积金服务",
        "binding_message": "核对码 42",
    }
    assert time.strptime(listed[0]["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert ok(idp_app("--state", phone, "approve", made.id)) == {
        "id": made.id,
        "state": "approved",
        "amr": ["swk"],
    }
    assert Approvals(store).find(made.id).amr == ["swk"]
    assert made.id not in [a["id"] for a in ok(idp_app("--state", phone, "pending", "--json"))]


def test_a_scanned_qr_and_a_scanned_device_code_are_answered(phone: Path, store, provider):  # noqa: F811
    qr = approval(store)
    scanned = ok(idp_app("--state", phone, "scan", f"{provider.url}/qr/{qr.id}"))
    assert scanned["id"] == qr.id and scanned["client_name"] == "测试公积金服务"
    assert ok(idp_app("--state", phone, "deny", qr.id)) == {"id": qr.id, "state": "denied"}
    kiosk = approval(store, alias=user_code_alias("BDFG-HJKL"), kind=ApprovalKind.device)
    text = f"{provider.url}/device?user_code=BDFG-HJKL"
    assert ok(idp_app("--state", phone, "scan", text))["id"] == kiosk.id
    ok(idp_app("--state", phone, "approve", kiosk.id))
    assert Approvals(store).find(kiosk.id).state is ApprovalState.approved


def test_approve_with_a_face_from_the_camera_file_or_the_state(phone: Path, store, me, tmp_path):
    frame = synthetic.face_image(ME.photo_template_id)
    camera = tmp_path / "frame.b64"
    camera.write_text(frame + "\n")
    first = approval(store, kind=ApprovalKind.step_up, person_id=me["id"], level=4)
    answered = ok(idp_app("--state", phone, "approve", first.id, "--face", "--camera", camera))
    assert answered["amr"] == ["swk", "face"]
    kept = json.loads(phone.read_text())
    phone.write_text(json.dumps({**kept, "camera": frame}))
    second = approval(store, kind=ApprovalKind.ciba, person_id=me["id"])
    assert ok(idp_app("--state", phone, "approve", second.id, "--face"))["amr"] == ["swk", "face"]


# -- failures: one line, non-zero -----------------------------------------------------------
def test_refusals_are_one_line(phone: Path, store, me, tmp_path):
    made = approval(store, kind=ApprovalKind.ciba, person_id=me["id"])
    ok(idp_app("--state", phone, "deny", made.id))
    assert "already_answered" in refused(idp_app("--state", phone, "approve", made.id))
    assert "not_found" in refused(idp_app("--state", phone, "approve", "no-such-request"))
    someone_else = synthetic.face_image(synthetic.generate().persons[0].photo_template_id)
    camera = tmp_path / "someone-else.b64"
    camera.write_text(someone_else)
    other = approval(store, kind=ApprovalKind.ciba, person_id=me["id"])
    assert "face_mismatch" in refused(
        idp_app("--state", phone, "approve", other.id, "--face", "--camera", camera)
    )
    kept = {k: v for k, v in json.loads(phone.read_text()).items() if k != "camera"}
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(kept))
    assert "camera frame" in refused(idp_app("--state", bare, "approve", other.id, "--face"))


def test_bad_state_files_are_one_line(tmp_path: Path):
    missing = tmp_path / "missing.json"
    assert "enrol this device first" in refused(idp_app("--state", missing, "pending"))
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert "cannot read the state file" in refused(idp_app("--state", garbage, "pending"))
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"issuer": "http://127.0.0.1:1"}))
    assert "not an idp-app state file" in refused(idp_app("--state", partial, "pending"))


def test_a_removed_device_and_a_provider_that_is_down(phone: Path, provider, me, tmp_path):  # noqa: F811
    second = tmp_path / "second.json"
    ok(
        idp_app(
            "--state",
            second,
            "enrol",
            "--issuer",
            provider.url,
            "--username",
            me["username"],
            "--password",
            PASSWORD,
            "--name",
            "旧手机",
        )
    )
    gone = json.loads(second.read_text())["device_id"]
    assert ok(idp_app("--state", phone, "remove", gone))["removed"] is True
    assert "invalid_dpop_proof" in refused(idp_app("--state", second, "pending"))
    down = {**json.loads(phone.read_text()), "issuer": f"http://127.0.0.1:{free_port()}"}
    elsewhere = tmp_path / "down.json"
    elsewhere.write_text(json.dumps(down))
    assert "cannot reach the provider" in refused(idp_app("--state", elsewhere, "pending"))


def test_enrol_failures_are_one_line(provider: Provider, me, tmp_path: Path):  # noqa: F811
    state = tmp_path / "state.json"

    def enrol(*extra: str, issuer: str = provider.url, password: str = PASSWORD) -> str:
        return refused(
            idp_app(
                "--state",
                state,
                "enrol",
                "--issuer",
                issuer,
                "--username",
                me["username"],
                "--password",
                password,
                *extra,
            )
        )

    assert "incorrect" in enrol(password="wrong-password")
    assert "cannot reach the provider" in enrol(issuer=f"http://127.0.0.1:{free_port()}")
    assert "sign-in stopped at /authorize" in enrol("--client-id", "no-such-app")
    assert not state.exists()


def test_pending_says_when_the_account_is_set_to_close(phone: Path, provider: Provider, me):  # noqa: F811
    """A closure someone asked for (idp/flows/close_account.py; the web side is tested in
    tests/integration/account_life) is told on stderr; stdout stays the JSON list."""
    database = sqlite3.connect(Path(provider.env["IDP_INSTANCE_DIR"]) / "idp.db")

    def closure_due(value: str | None) -> None:
        with database:
            database.execute(
                "UPDATE persons SET closure_due_at = ? WHERE id = ?", (value, me["id"])
            )

    assert "close" not in idp_app("--state", phone, "pending", "--json").stderr
    closure_due("2099-01-15 16:00:00.000000")
    try:
        done = idp_app("--state", phone, "pending", "--json")
        assert isinstance(ok(done), list)
        assert "set to close at 2099-01-15T16:00:00Z" in done.stderr
        assert "如非本人操作请登录网页撤销" in done.stderr
    finally:
        closure_due(None)
        database.close()
