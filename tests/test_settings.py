"""settings: arguments first, then RUTTER_* variables; secrets never in repr."""

from __future__ import annotations

import pytest

from rutter_nb.errors import ConfigurationError
from rutter_nb.settings import DEFAULT_VERSION, ENVIRONMENTS, Settings

CREDS = {"client_id": "cid", "client_secret": "canary-settings-1"}


def test_environment_fills_missing_arguments() -> None:
    env = {
        "RUTTER_BASE_URL": "http://127.0.0.1:1/versioned/",
        "RUTTER_CLIENT_ID": "env-id",
        "RUTTER_CLIENT_SECRET": "env-secret-xyz",
        "RUTTER_ACCESS_TOKEN": "env-token-xyz",
        "RUTTER_VERSION": "2023-03-14",
    }
    s = Settings.resolve(environ=env)
    assert (s.base_url, s.client_id, s.access_token, s.version) == (
        "http://127.0.0.1:1/versioned",
        "env-id",
        "env-token-xyz",
        "2023-03-14",
    )
    assert Settings.resolve(client_id="arg-id", environ=env).client_id == "arg-id"


def test_env_selects_rutter_hosts_and_defaults() -> None:
    s = Settings.resolve(env="sandbox", environ={}, **CREDS)
    assert s.base_url == ENVIRONMENTS["sandbox"] == "https://sandbox.rutterapi.com/versioned"
    assert s.version == DEFAULT_VERSION == "2024-08-31"
    assert Settings.resolve(environ={}, **CREDS).base_url == ENVIRONMENTS["production"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"client_id": None}, "no Rutter credentials"),
        ({"env": "staging"}, "env must be one of"),
        ({"env": "sandbox", "base_url": "http://x/versioned"}, "either base_url or env"),
        ({"base_url": "ftp://x"}, "absolute http"),
        ({"base_url": "localhost:8000"}, "absolute http"),
        ({"version": "2020-01-01"}, "unknown API version"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"base_url": 8080}, "base_url must be a string"),
        ({"client_id": 5}, "client_id must be a string"),
    ],
)
def test_bad_settings_raise_configuration_error(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {**CREDS, **kwargs}
    with pytest.raises(ConfigurationError, match=match):
        Settings.resolve(environ={}, **args)  # type: ignore[arg-type]


def test_repr_and_errors_hide_secrets() -> None:
    s = Settings.resolve(environ={}, access_token="canary-settings-2", **CREDS)
    assert "canary-settings" not in repr(s) and "canary-settings" not in str(s)
    assert s.auth_header.startswith("Basic ")
