"""Settings: precedence, validation messages that name the setting, generated secrets."""

from __future__ import annotations

import os
import stat

import pytest

from config import ConfigError, load_settings


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
        environ={"IDP_CONFIG_FILE": str(toml), "IDP_ISSUER": "https://from-env.example"},
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
        {"instance_dir": str(tmp_path), "config_file": "config/example.toml"}, environ={}
    )
    assert settings.issuer.startswith("https://") and settings.secure_cookies
    assert settings.database_url.startswith("postgresql")
