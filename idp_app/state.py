"""What the app keeps on the device between runs: one JSON file, readable by its owner only
(mode 0600), holding the provider, the enrolled device's id and its private key."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey

FIELDS = ("issuer", "client_id", "device_id", "key")


class StateError(Exception):
    """The state file is missing, unreadable or not an idp-app state file."""


@dataclass(frozen=True)
class State:
    issuer: str
    client_id: str
    device_id: str
    key: ECKey  # the device's private key (ES256, P-256)
    name: str = ""
    camera: str | None = None  # a base64 "camera frame" for `approve --face`

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "device_id": self.device_id,
            "name": self.name,
            "key": self.key.as_dict(private=True),
        }
        if self.camera is not None:
            found["camera"] = self.camera
        return found


def load(path: Path) -> State:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(f"no state file at {path}: enrol this device first") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StateError(f"cannot read the state file {path}: {_brief(exc)}") from None
    if not isinstance(raw, dict) or any(not raw.get(name) for name in FIELDS):
        raise StateError(f"{path} is not an idp-app state file (needs {', '.join(FIELDS)})")
    try:
        key = ECKey.import_key(raw["key"])
    except (JoseError, ValueError, TypeError) as exc:
        raise StateError(f"the key in {path} is not an EC key: {_brief(exc)}") from None
    if not key.is_private or key.as_dict(private=False).get("crv") != "P-256":
        raise StateError(f"the key in {path} is not a private P-256 key")
    camera = raw.get("camera")
    return State(
        issuer=str(raw["issuer"]),
        client_id=str(raw["client_id"]),
        device_id=str(raw["device_id"]),
        key=key,
        name=str(raw.get("name") or ""),
        camera=camera if isinstance(camera, str) else None,
    )


def camera_of(path: Path) -> str | None:
    """The `camera` entry of a state file about to be replaced (kept across enrolments)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    camera = raw.get("camera") if isinstance(raw, dict) else None
    return camera if isinstance(camera, str) else None


def save(path: Path, state: State) -> None:
    """Write the file whole (a new file, mode 0600, renamed over the old one)."""
    directory = path.parent if str(path.parent) else Path(".")
    temporary: str | None = None
    try:
        fd, temporary = tempfile.mkstemp(prefix=".idp-app-", dir=directory)  # mode 0600
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(state.as_dict(), out, ensure_ascii=False, indent=2)
            out.write("\n")
        os.replace(temporary, path)
        temporary = None
    except OSError as exc:
        raise StateError(f"cannot write the state file {path}: {_brief(exc)}") from None
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def _brief(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or exc.__class__.__name__
