"""Settings: precedence, validation messages that name the setting, generated secrets."""

from __future__ import annotations

import os
import stat

import pytest

from config import ConfigError, fresh_secrets, load_settings

SHARED = [
    "IDP_SECRET_KEY",
    "IDP_PII_SEAL_KEY",
    "IDP_PII_INDEX_KEY",
    "IDP_KEY_ENCRYPTION_KEY",
    "IDP_SUBJECT_SALT",
    "IDP_AUDIT_CHECKPOINT_KEY",
]


def node_environ(**more: str) -> dict[str, str]:
    """What a node of a real deployment is given: every shared secret (made here, now)."""
    made = {f"IDP_{name.upper()}": value for name, value in fresh_secrets().items()}
    made.pop("IDP_CONNECTORS_KEY")
    return {**made, **more}


def test_defaults_are_the_embedded_setup(tmp_path):
    settings = load_settings({"instance_dir": str(tmp_path)}, environ={})
    assert settings.issuer == "http://127.0.0.1:8000"
    assert settings.database_url == f"sqlite:///{tmp_path / 'idp.db'}"
    assert settings.embedded_redis
    assert not settings.secure_cookies


def test_environment_beats_toml_beats_default(tmp_path):
    toml = tmp_path / "idp.toml"
    toml.write_text(
        'issuer = "https://from-toml.example"\n[session]\nidle_timeout = 900\n'
        "[login]\nmax_failures = 50\n"
    )
    settings = load_settings(
        {"instance_dir": str(tmp_path)},
        environ=node_environ(IDP_CONFIG_FILE=str(toml), IDP_ISSUER="https://from-env.example"),
    )
    assert settings.issuer == "https://from-env.example"
    assert settings.session_idle_timeout == 900
    assert settings.login_max_failures == 50
    assert settings.source["issuer"] == "env" and settings.source["session_idle_timeout"] == "toml"


def test_secrets_are_generated_once_into_the_instance_dir(tmp_path):
    first = load_settings({"instance_dir": str(tmp_path)}, environ={})
    second = load_settings({"instance_dir": str(tmp_path)}, environ={})
    assert first.secret_key == second.secret_key and len(first.secret_key) == 64
    assert len(bytes.fromhex(first.pii_seal_key)) == 16
    mode = stat.S_IMODE(os.stat(tmp_path / "secrets" / "secret_key").st_mode)
    assert mode == 0o600
    assert first.source["secret_key"] == "generated"


def test_secrets_never_appear_in_repr(tmp_path):
    settings = load_settings({"instance_dir": str(tmp_path)}, environ={})
    assert settings.secret_key not in repr(settings)
    assert settings.pii_index_key not in repr(settings)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"IDP_ISSUER": "ftp://x"}, "IDP_ISSUER"),
        ({"IDP_ISSUER": "http://idp.example.gov.cn"}, "IDP_ISSUER"),
        ({"IDP_ISSUER": "https://idp.example/"}, "IDP_ISSUER"),
        ({"IDP_SESSION_IDLE_TIMEOUT": "abc"}, "IDP_SESSION_IDLE_TIMEOUT"),
        ({"IDP_LOGIN_MAX_FAILURES": "101"}, "IDP_LOGIN_MAX_FAILURES"),
        ({"IDP_DATABASE_URL": "mysql://x/y"}, "IDP_DATABASE_URL"),
        ({"IDP_DATABASE_URL": "not a url"}, "IDP_DATABASE_URL"),
        ({"IDP_REDIS_URL": "http://x"}, "IDP_REDIS_URL"),
        ({"IDP_PII_SEAL_KEY": "zz"}, "IDP_PII_SEAL_KEY"),
        ({"IDP_DEFAULT_LOCALE": "fr"}, "IDP_DEFAULT_LOCALE"),
        ({"IDP_SESSION_IDLE_TIMEOUT": "90000"}, "IDP_SESSION_IDLE_TIMEOUT"),
        ({"IDP_CONFIG_FILE": "/nonexistent/idp.toml"}, "IDP_CONFIG_FILE"),
        ({"IDP_PASSWORD_MEMORY_KIB": "7167"}, "IDP_PASSWORD_MEMORY_KIB"),
    ],
)
def test_bad_settings_name_themselves(tmp_path, env, named):
    with pytest.raises(ConfigError) as raised:
        load_settings({"instance_dir": str(tmp_path)}, environ=env)
    assert named in str(raised.value)


def test_keycloaks_argon2id_setting_is_accepted(tmp_path):
    """OWASP's smallest-memory argon2id setting, Keycloak's default (t=5, m=7 MiB)."""
    env = {"IDP_PASSWORD_TIME_COST": "5", "IDP_PASSWORD_MEMORY_KIB": "7168"}
    settings = load_settings({"instance_dir": str(tmp_path)}, environ=env)
    assert (settings.password_time_cost, settings.password_memory_kib) == (5, 7168)


def test_bad_toml_and_unknown_keys_are_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("issuer = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({"instance_dir": str(tmp_path)}, environ={"IDP_CONFIG_FILE": str(bad)})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('isuer = "https://typo.example"\n')
    with pytest.raises(ConfigError, match="isuer"):
        load_settings({"instance_dir": str(tmp_path)}, environ={"IDP_CONFIG_FILE": str(unknown)})


def test_the_example_production_file_loads(tmp_path):
    settings = load_settings(
        {"instance_dir": str(tmp_path), "config_file": "config/example.toml"},
        environ=node_environ(),
    )
    assert settings.issuer.startswith("https://") and settings.secure_cookies
    assert settings.database_url.startswith("postgresql")


@pytest.mark.parametrize("issuer", ["https://idp.example.gov.cn", "https://10.0.0.8:8443"])
def test_a_deployment_may_not_generate_the_secrets_nodes_share(tmp_path, issuer):
    """Two nodes that each generated their own keys would refuse each other's cookies,
    seal ID numbers the other cannot open and give one person two subjects."""
    with pytest.raises(ConfigError) as refused:
        load_settings({"instance_dir": str(tmp_path)}, environ={"IDP_ISSUER": issuer})
    message = str(refused.value)
    assert all(name in message for name in SHARED), message
    assert "IDP_CONNECTORS_KEY" not in message  # the fake registries need no key
    assert "loopback" in message
    assert not (tmp_path / "secrets").exists()  # nothing was generated on the way


def test_every_missing_shared_secret_is_named_and_no_other(tmp_path):
    environ = node_environ(IDP_ISSUER="https://idp.example.gov.cn")
    del environ["IDP_KEY_ENCRYPTION_KEY"], environ["IDP_SUBJECT_SALT"]
    with pytest.raises(ConfigError) as refused:
        load_settings({"instance_dir": str(tmp_path)}, environ=environ)
    named = [name for name in SHARED if name in str(refused.value)]
    assert named == ["IDP_KEY_ENCRYPTION_KEY", "IDP_SUBJECT_SALT"]


def test_the_registries_key_is_shared_once_they_are_real(tmp_path):
    environ = node_environ(IDP_ISSUER="https://idp.example.gov.cn", IDP_CONNECTORS_VENDOR="govjson")
    with pytest.raises(ConfigError, match="IDP_CONNECTORS_KEY"):
        load_settings({"instance_dir": str(tmp_path)}, environ=environ)
    environ["IDP_CONNECTORS_KEY"] = fresh_secrets()["connectors_key"]
    assert load_settings({"instance_dir": str(tmp_path)}, environ=environ).connectors_key


def test_configured_secrets_start_a_deployment_and_none_is_generated(tmp_path):
    environ = node_environ(IDP_ISSUER="https://idp.example.gov.cn")
    settings = load_settings({"instance_dir": str(tmp_path)}, environ=environ)
    assert settings.key_encryption_key == environ["IDP_KEY_ENCRYPTION_KEY"]
    generated = [name for name, origin in settings.source.items() if origin == "generated"]
    assert generated == ["connectors_key"]  # unused by the fake registries; nodes may differ


def test_secrets_generated_by_a_local_run_are_pointed_at_not_replaced(tmp_path):
    """A single node that ran on generated secrets and moves to a public issuer must carry
    those values over: new ones would leave every sealed ID number unreadable."""
    local = load_settings({"instance_dir": str(tmp_path)}, environ={})
    with pytest.raises(ConfigError) as refused:
        load_settings(
            {"instance_dir": str(tmp_path)}, environ={"IDP_ISSUER": "https://idp.example.gov.cn"}
        )
    assert str(tmp_path / "secrets") in str(refused.value)
    assert "pii_seal_key" in str(refused.value)
    assert (tmp_path / "secrets" / "pii_seal_key").read_text() == local.pii_seal_key


@pytest.mark.parametrize(
    "issuer", ["http://127.0.0.1:8000", "http://localhost:8100", "https://[::1]:9443"]
)
def test_loopback_issuers_keep_generating_secrets(tmp_path, issuer):
    settings = load_settings({"instance_dir": str(tmp_path)}, environ={"IDP_ISSUER": issuer})
    assert settings.source["key_encryption_key"] == "generated"
    assert (tmp_path / "secrets" / "subject_salt").exists()


def test_a_redis_cluster_is_named_by_its_url(tmp_path):
    url = "redis+cluster://redis-1.internal:6379"
    settings = load_settings({"instance_dir": str(tmp_path)}, environ={"IDP_REDIS_URL": url})
    assert settings.redis_url == url and not settings.embedded_redis
