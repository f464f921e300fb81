"""Settings: every knob the provider has, read in one place from `IDP_*` variables and TOML.

Precedence: environment variable > TOML file (`IDP_CONFIG_FILE`) > default. Secrets that
are not configured are generated once into the instance directory (never into the repo),
but only for a loopback issuer (`make run`, tests): any other issuer may be served by
several nodes, which must share their secrets, so there they must all be configured.
A bad or missing setting raises `ConfigError` naming it; callers turn that into a
start-up message, never a traceback.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from config.checks import (
    ConfigError,
    check_connector_urls,
    check_database_url,
    check_hex,
    check_issuer,
    check_redis_url,
    coerce,
    is_loopback,
)
from config.instance_secrets import generator, read_or_generate, refusal, unshared

__all__ = ["ConfigError", "Settings", "fresh_secrets", "load_settings"]


def _setting(default: Any, env: str, doc: str, **meta: Any) -> Any:
    # Secrets stay out of repr() so that logging a Settings object never leaks one. A
    # `shared` secret must be the same on every node (True, or a test of the other values).
    return field(
        default=default, repr=not meta.get("secret"), metadata={"env": env, "doc": doc, **meta}
    )


# The order n of the SM2 curve (GB/T 32918.5): config/ sits below idp/ and cannot ask
# idp.crypto.sm2 for it (tests/unit/test_config.py checks the two agree).
SM2_ORDER = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123


def _sm2_private_key() -> str:
    # Not token_hex: an SM2 scalar must lie in [1, n-2], which 2^-32 of random values miss.
    return f"{1 + secrets.randbelow(SM2_ORDER - 2):064x}"


@dataclass(frozen=True)
class Settings:
    """The provider's configuration. Field metadata names the env variable and TOML key."""

    issuer: str = _setting("http://127.0.0.1:8000", "IDP_ISSUER", "public base URL")
    instance_dir: str = _setting("instance", "IDP_INSTANCE_DIR", "embedded data and secrets")
    database_url: str = _setting("", "IDP_DATABASE_URL", "SQLAlchemy URL; default SQLite")
    redis_url: str = _setting(
        "embedded", "IDP_REDIS_URL", "redis://, unix://, redis+cluster:// or embedded"
    )
    secret_key: str = _setting(
        "", "IDP_SECRET_KEY", "signs cookies; generated if absent", secret=True, shared=True
    )
    pii_seal_key: str = _setting(
        "", "IDP_PII_SEAL_KEY", "SM4 key, 32 hex chars", secret=True, hex_bytes=16, shared=True
    )
    pii_index_key: str = _setting(
        "",
        "IDP_PII_INDEX_KEY",
        "HMAC-SM3 key, 64 hex chars",
        secret=True,
        hex_bytes=32,
        shared=True,
    )
    key_encryption_key: str = _setting(
        "",
        "IDP_KEY_ENCRYPTION_KEY",
        "SM4 key sealing signing keys at rest, 32 hex chars",
        secret=True,
        hex_bytes=16,
        shared=True,
    )
    subject_salt: str = _setting(
        "", "IDP_SUBJECT_SALT", "salt of pairwise subject identifiers", secret=True, shared=True
    )
    access_token_ttl: int = _setting(
        600, "IDP_ACCESS_TOKEN_TTL", "seconds an access token lives", minimum=60, maximum=86400
    )
    id_token_ttl: int = _setting(600, "IDP_ID_TOKEN_TTL", "seconds", minimum=60, maximum=86400)
    refresh_token_ttl: int = _setting(
        2592000, "IDP_REFRESH_TOKEN_TTL", "absolute refresh lifetime, seconds", minimum=300
    )
    authorization_code_ttl: int = _setting(
        60, "IDP_AUTHORIZATION_CODE_TTL", "seconds", minimum=10, maximum=600
    )
    password_time_cost: int = _setting(
        2, "IDP_PASSWORD_TIME_COST", "argon2id iterations", minimum=1
    )
    password_memory_kib: int = _setting(
        19456, "IDP_PASSWORD_MEMORY_KIB", "argon2id memory", minimum=7168
    )
    password_parallelism: int = _setting(1, "IDP_PASSWORD_PARALLELISM", "argon2id lanes", minimum=1)
    session_idle_timeout: int = _setting(1800, "IDP_SESSION_IDLE_TIMEOUT", "seconds", minimum=60)
    session_absolute_timeout: int = _setting(
        43200, "IDP_SESSION_ABSOLUTE_TIMEOUT", "seconds", minimum=300
    )
    app_client_id: str = _setting("gov-idp-app", "IDP_APP_CLIENT_ID", "the official app's client")
    account_closure_days: int = _setting(
        15, "IDP_ACCOUNT_CLOSURE_DAYS", "cooling-off days before a closure", maximum=90
    )
    kiosk_idle_timeout: int = _setting(
        120,
        "IDP_KIOSK_IDLE_TIMEOUT",
        "seconds a kiosk session lasts untouched (the person has walked away)",
        minimum=15,
    )
    login_max_failures: int = _setting(
        20,
        "IDP_LOGIN_MAX_FAILURES",
        "consecutive failures before an account is blocked",
        minimum=3,
        maximum=100,
    )
    login_lockout_seconds: int = _setting(
        900, "IDP_LOGIN_LOCKOUT_SECONDS", "block length", minimum=1
    )
    login_address_max_failures: int = _setting(
        300, "IDP_LOGIN_ADDRESS_MAX_FAILURES", "failures per source address per window", minimum=10
    )
    login_address_window: int = _setting(3600, "IDP_LOGIN_ADDRESS_WINDOW", "seconds", minimum=60)
    sms_codes_per_address: int = _setting(
        20,
        "IDP_SMS_CODES_PER_ADDRESS",
        "SMS codes sent an hour for requests from one source address (raise it for a service "
        "hall or an office whose people share one address)",
        minimum=1,
        maximum=100000,
    )
    realname_tries_per_account: int = _setting(
        5,
        "IDP_REALNAME_TRIES_PER_ACCOUNT",
        "real-name checks (name + ID number) one account may ask the registry for a day",
        minimum=1,
        maximum=100,
    )
    realname_tries_per_address: int = _setting(
        30,
        "IDP_REALNAME_TRIES_PER_ADDRESS",
        "real-name checks from one source address a day (so are face checks, counted apart)",
        minimum=1,
        maximum=10000,
    )
    realname_tries_per_id_number: int = _setting(
        5,
        "IDP_REALNAME_TRIES_PER_ID_NUMBER",
        "real-name checks of one ID number a day, whoever asks",
        minimum=1,
        maximum=100,
    )
    realname_face_tries_per_account: int = _setting(
        5,
        "IDP_REALNAME_FACE_TRIES_PER_ACCOUNT",
        "face checks (实人核验) one account may make a day",
        minimum=1,
        maximum=100,
    )
    connectors_vendor: str = _setting(
        "fake",
        "IDP_CONNECTORS_VENDOR",
        "fake (in memory, synthetic) or govjson (registries over signed JSON)",
        choices=("fake", "govjson"),
    )
    connectors_key: str = _setting(
        "",
        "IDP_CONNECTORS_KEY",
        "HMAC-SM3 key shared with the registries, 64 hex chars",
        secret=True,
        hex_bytes=32,
        shared=lambda values: values.get("connectors_vendor") == "govjson",
    )
    connectors_timeout: int = _setting(
        3, "IDP_CONNECTORS_TIMEOUT", "seconds to wait for a registry", minimum=1, maximum=30
    )
    population_registry_url: str = _setting(
        "http://127.0.0.1:8101", "IDP_POPULATION_REGISTRY_URL", "govjson URL"
    )
    enterprise_registry_url: str = _setting(
        "http://127.0.0.1:8102", "IDP_ENTERPRISE_REGISTRY_URL", "govjson URL"
    )
    sms_gateway_url: str = _setting("http://127.0.0.1:8103", "IDP_SMS_GATEWAY_URL", "govjson URL")
    face_verifier_url: str = _setting(
        "http://127.0.0.1:8104", "IDP_FACE_VERIFIER_URL", "govjson URL"
    )
    trusted_proxies: int = _setting(
        0, "IDP_TRUSTED_PROXIES", "X-Forwarded-For hops to trust", minimum=0, maximum=5
    )
    default_locale: str = _setting("zh", "IDP_DEFAULT_LOCALE", "zh or en", choices=("zh", "en"))
    audit_checkpoint_key: str = _setting(
        "",
        "IDP_AUDIT_CHECKPOINT_KEY",
        "SM2 private key signing audit checkpoints, 64 hex chars; never in the database",
        secret=True,
        hex_bytes=32,
        generate=_sm2_private_key,
        shared=True,
    )
    audit_checkpoint_public_key: str = _setting(
        "",
        "IDP_AUDIT_CHECKPOINT_PUBLIC_KEY",
        "SM2 public keys (x‖y, 128 hex chars, comma-separated) that verify checkpoints; "
        "default: the signing key's",
    )
    audit_checkpoint_dir: str = _setting(
        "",
        "IDP_AUDIT_CHECKPOINT_DIR",
        "directory signed audit checkpoints are appended to; default <instance>/audit-checkpoints",
    )
    audit_checkpoint_every: int = _setting(
        1000, "IDP_AUDIT_CHECKPOINT_EVERY", "audit events between checkpoints", minimum=1
    )
    audit_checkpoint_interval: int = _setting(
        300,
        "IDP_AUDIT_CHECKPOINT_INTERVAL",
        "seconds after which new audit events are checkpointed",
        minimum=1,
        maximum=86400,
    )
    log_level: str = _setting(
        "INFO",
        "IDP_LOG_LEVEL",
        "Python logging level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    )
    source: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def instance_path(self) -> Path:
        return Path(self.instance_dir).resolve()

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url == "embedded"

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"IDP_CONFIG_FILE: {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"IDP_CONFIG_FILE: {path} is not valid TOML ({exc})") from None
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):  # [session] idle_timeout = 1800 -> session_idle_timeout
            for sub, v in value.items():
                flat[f"{key}_{sub}"] = v
        else:
            flat[key] = value
    return flat


def fresh_secrets() -> dict[str, str]:
    """A new value for every secret setting, made as a local run generates them: for a
    deployment's secrets manager, or a test that runs a non-loopback issuer."""
    return {f.name: generator(f)() for f in fields(Settings) if f.metadata.get("secret")}


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build Settings from overrides (tests), the environment and the TOML file."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    toml_path = overrides.pop("config_file", None) or environ.get("IDP_CONFIG_FILE")
    from_toml = _read_toml(toml_path) if toml_path else {}
    known = {f.name for f in fields(Settings)}
    for key in list(from_toml) + list(overrides):
        if key not in known:
            raise ConfigError(f"unknown setting {key!r} (known: {', '.join(sorted(known))})")

    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    for f in fields(Settings):
        if f.name == "source":
            continue
        env = f.metadata["env"]
        if f.name in overrides:
            values[f.name], source[f.name] = coerce(f, overrides[f.name], env), "override"
        elif env in environ and environ[env] != "":
            values[f.name], source[f.name] = coerce(f, environ[env], env), "env"
        elif f.name in from_toml:
            values[f.name] = coerce(f, from_toml[f.name], f"{toml_path}: {f.name}")
            source[f.name] = "toml"

    instance = Path(values.get("instance_dir", "instance")).resolve()
    try:
        instance.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"IDP_INSTANCE_DIR: cannot create {instance}: {exc.strerror}") from None
    values["instance_dir"] = str(instance)
    values.setdefault("database_url", f"sqlite:///{instance / 'idp.db'}")
    values.setdefault("audit_checkpoint_dir", str(instance / "audit-checkpoints"))
    values.setdefault("issuer", Settings.issuer)
    check_issuer(values["issuer"])
    # Outside loopback several nodes may serve the issuer: none may make up its own secrets.
    loopback = is_loopback(urlsplit(values["issuer"]).hostname or "")
    if not loopback and (missing := unshared(fields(Settings), values)):
        raise ConfigError(refusal(missing, values["issuer"], instance))
    for f in fields(Settings):
        nbytes = f.metadata.get("hex_bytes")
        if f.metadata.get("secret") and not values.get(f.name):
            values[f.name] = read_or_generate(instance, f.name, generator(f))
            source[f.name] = "generated"
        if nbytes and f.name in values:
            check_hex(f.metadata["env"], values[f.name], nbytes)

    settings = Settings(**values, source=source)
    check_database_url(settings.database_url)
    check_redis_url(settings.redis_url)
    if settings.connectors_vendor == "govjson":
        check_connector_urls(settings)
    if settings.session_idle_timeout > settings.session_absolute_timeout:
        raise ConfigError("IDP_SESSION_IDLE_TIMEOUT: must not exceed IDP_SESSION_ABSOLUTE_TIMEOUT")
    return settings
