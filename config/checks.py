"""What each setting's value must be: `load_settings` reads the values, these refuse the
ones that cannot work, each with a `ConfigError` that names the setting."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and says what is expected."""


def coerce(f: Any, raw: Any, origin: str) -> Any:
    name = f"{origin} ({f.metadata['env']})" if origin != f.metadata["env"] else origin
    if f.type in ("int", int):
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
        lo, hi = f.metadata.get("minimum"), f.metadata.get("maximum")
        if lo is not None and value < lo:
            raise ConfigError(f"{name}: must be at least {lo}, got {value}")
        if hi is not None and value > hi:
            raise ConfigError(f"{name}: must be at most {hi}, got {value}")
        return value
    text = str(raw).strip()
    choices = f.metadata.get("choices")
    if choices and text not in choices:
        raise ConfigError(f"{name}: must be one of {', '.join(choices)}, got {text!r}")
    return text


def check_issuer(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"IDP_ISSUER: must be an absolute http(s) URL, got {value!r}")
    if parts.query or parts.fragment or value.endswith("/"):
        raise ConfigError("IDP_ISSUER: must have no query, fragment or trailing slash")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError("IDP_ISSUER: http is allowed only for loopback hosts; use https")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_database_url(value: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except ArgumentError:
        raise ConfigError(f"IDP_DATABASE_URL: not a database URL: {value!r}") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError("IDP_DATABASE_URL: only sqlite and postgresql are supported")


def check_redis_url(value: str) -> None:
    if value == "embedded":
        return
    if urlsplit(value).scheme not in ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster"):
        raise ConfigError(
            "IDP_REDIS_URL: expected redis://, rediss://, unix://, redis+cluster:// (a Redis "
            f"Cluster node), rediss+cluster:// or 'embedded', got {value!r}"
        )


def check_hex(env: str, value: str, nbytes: int) -> None:
    try:
        ok = len(bytes.fromhex(value)) == nbytes
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"{env}: expected {nbytes * 2} hexadecimal characters")


def check_connector_urls(settings: object) -> None:
    """The govjson connectors need every registry's and service's URL."""
    for name in (
        "population_registry_url",
        "enterprise_registry_url",
        "sms_gateway_url",
        "face_verifier_url",
    ):
        if not getattr(settings, name).startswith(("http://", "https://")):
            raise ConfigError(
                f"IDP_{name.upper()}: required (an http(s) URL) when "
                "IDP_CONNECTORS_VENDOR is govjson"
            )
