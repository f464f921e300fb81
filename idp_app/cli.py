"""`idp-app`: the reference mobile app on the command line.

    idp-app --state FILE enrol --issuer URL --username U --password P [--client-id ID] [--name N]
    idp-app --state FILE pending [--json]
    idp-app --state FILE scan TEXT
    idp-app --state FILE approve ID [--face] [--camera FILE]
    idp-app --state FILE deny ID
    idp-app --state FILE devices [--json]
    idp-app --state FILE remove DEVICE_ID

Exit status 0 on success; 1 with a one-line reason on standard error when the provider
refused or could not be reached, or the state file is unusable; 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from idp_app import state as state_file
from idp_app.client import DEFAULT_CLIENT_ID, AppClient
from idp_app.errors import AppError
from idp_app.state import StateError

READ_STDIN = "-"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except (AppError, StateError) as exc:
        print(f"idp-app: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("idp-app: interrupted", file=sys.stderr)
        return 130
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idp-app", description="The reference mobile app: approve sign-ins with a device key."
    )
    parser.add_argument("--state", required=True, type=Path, help="the app's state file (0600)")
    commands = parser.add_subparsers(dest="command", required=True)

    enrol = commands.add_parser("enrol", help="sign in as the app and enrol a new device key")
    enrol.add_argument("--issuer", required=True, help="the provider, e.g. http://127.0.0.1:8000")
    enrol.add_argument("--username", required=True)
    enrol.add_argument("--password", required=True, help="`-` reads it from standard input")
    enrol.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    enrol.add_argument("--name", default="idp-app", help="the device's name, shown to the person")
    enrol.set_defaults(run=_enrol)

    pending = commands.add_parser("pending", help="list the approvals waiting for this person")
    pending.add_argument("--json", action="store_true")
    pending.set_defaults(run=_pending)

    scan = commands.add_parser("scan", help="take what the camera read (a QR's text)")
    scan.add_argument("text")
    scan.set_defaults(run=_scan)

    approve = commands.add_parser("approve", help="approve with the device key")
    approve.add_argument("id")
    approve.add_argument("--face", action="store_true", help="with a face check too")
    approve.add_argument(
        "--camera", type=Path, help="a file holding the base64 camera frame (default: state's)"
    )
    approve.set_defaults(run=_approve)

    deny = commands.add_parser("deny", help="deny an approval")
    deny.add_argument("id")
    deny.set_defaults(run=_deny)

    devices = commands.add_parser("devices", help="this person's enrolled devices")
    devices.add_argument("--json", action="store_true")
    devices.set_defaults(run=_devices)

    remove = commands.add_parser("remove", help="remove one of this person's devices")
    remove.add_argument("device_id")
    remove.set_defaults(run=_remove)
    return parser


def _enrol(args: argparse.Namespace) -> None:
    password = args.password
    if password == READ_STDIN:
        password = sys.stdin.readline().rstrip("\n")
    app = AppClient.enrol(
        args.issuer,
        username=args.username,
        password=password,
        client_id=args.client_id,
        name=args.name,
    )
    state_file.save(args.state, app.state(camera=state_file.camera_of(args.state)))
    _print({"device_id": app.device_id, "name": app.name, "issuer": app.issuer})


def _pending(args: argparse.Namespace) -> None:
    found, closure_due = _app(args).listing()
    if closure_due:  # on stderr: the JSON on stdout stays a list
        print(
            f"note: this account is set to close at {closure_due}; "
            "sign in on the web to keep it (账号将于该时间注销，如非本人操作请登录网页撤销)",
            file=sys.stderr,
        )
    if args.json:
        _print(found)
        return
    if not found:
        print("no pending approvals")
    for a in found:
        said = f" «{a['binding_message']}»" if a.get("binding_message") else ""
        print(f"{a['id']}  {a['kind']}  {a['client_name']}{said}  until {a['expires_at']}")


def _scan(args: argparse.Namespace) -> None:
    scanned = _app(args).scan(args.text)
    _print({k: scanned.get(k) for k in ("id", "kind", "client_name", "location", "state")})


def _approve(args: argparse.Namespace) -> None:
    app_state = state_file.load(args.state)
    image = _camera(args, app_state.camera) if args.face else None
    answered = AppClient.from_state(app_state).approve(args.id, face_image=image)
    _print({k: answered.get(k) for k in ("id", "state", "amr")})


def _deny(args: argparse.Namespace) -> None:
    answered = _app(args).deny(args.id)
    _print({k: answered.get(k) for k in ("id", "state")})


def _devices(args: argparse.Namespace) -> None:
    found = _app(args).devices()
    if args.json:
        _print(found)
        return
    for d in found:
        mark = "  (this device)" if d.get("this_device") else ""
        print(f"{d['device_id']}  {d['name']}  enrolled {d['created_at']}{mark}")


def _remove(args: argparse.Namespace) -> None:
    _print(_app(args).remove(args.device_id))


def _app(args: argparse.Namespace) -> AppClient:
    return AppClient.from_state(state_file.load(args.state))


def _camera(args: argparse.Namespace, kept: str | None) -> str:
    """The camera frame for a face check: the --camera file, else the state's `camera`."""
    if args.camera is None:
        if kept is None:
            raise AppError("--face needs a camera frame: --camera FILE, or `camera` in the state")
        return kept
    try:
        return args.camera.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise AppError(
            f"cannot read the camera frame {args.camera}: {exc.__class__.__name__}"
        ) from None


def _print(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
