"""Secrets generated into the instance directory for a local run, and the ones that every
node must share, which a deployment has to configure instead."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import Field
from functools import partial
from pathlib import Path
from typing import Any


def generator(f: Field[Any]) -> Callable[[], str]:
    """How a secret setting is made: its own `generate`, else random hex of its size."""
    make: Callable[[], str] | None = f.metadata.get("generate")
    return make or partial(secrets.token_hex, f.metadata.get("hex_bytes", 32))


def read_or_generate(instance: Path, name: str, make: Callable[[], str]) -> str:
    """Read a generated secret from the instance dir, creating it (mode 0600) the first time."""
    path = instance / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)
    return value


def unshared(settings: Iterable[Field[Any]], values: Mapping[str, Any]) -> list[Field[Any]]:
    """The secrets nodes must share (metadata `shared`: True, or a test of the other
    values) that `values` leaves to be generated."""
    return [
        f
        for f in settings
        if (shared := f.metadata.get("shared"))
        and (shared is True or shared(values))
        and not values.get(f.name)
    ]


def refusal(missing: list[Field[Any]], issuer: str, instance: Path) -> str:
    """Why they may not be generated, and where earlier generated values are: those must
    be configured, not new ones, or what was sealed or signed with them is lost."""
    names = ", ".join(f.metadata["env"] for f in missing)
    message = (
        f"{names}: required when IDP_ISSUER ({issuer}) is not a loopback address, since "
        "every node serving it must hold the same secrets (cookies signed on one node, ID "
        "numbers sealed, subject ids and signing keys must be good on all); set them in the "
        "environment or a secrets manager: they are generated only for local runs"
    )
    earlier = [f.name for f in missing if (instance / "secrets" / f.name).exists()]
    if earlier:
        message += (
            f". Values generated earlier are in {instance / 'secrets'} ({', '.join(earlier)}): "
            "configure those, or what was sealed or signed with them cannot be opened"
        )
    return message
