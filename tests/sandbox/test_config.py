"""Settings parsing: CLI string forms, ranges, runtime changes, no secrets in repr."""

from __future__ import annotations

import pytest

from rutter_nb.sandbox.config import (
    SandboxConfig,
    SandboxConfigError,
    parse_duration,
    parse_fault,
    parse_faults,
    parse_rate,
)


def test_defaults_follow_the_issue() -> None:
    config = SandboxConfig()
    assert (config.host, config.port, config.sync_window) == ("127.0.0.1", 0, 30.0)
    assert config.job_duration == (0.5, 3.0)
    assert config.rate_limit == (500, 10.0) and config.platform_rate == (60, 1.0)
    assert config.failure_rate == 0.0 and config.faults == {} and config.webhook_urls == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.5:3", (0.5, 3.0)), ("2", (2.0, 2.0)), ((1, 2), (1.0, 2.0)), (0, (0.0, 0.0))],
)
def test_parse_duration(text: object, expected: tuple[float, float]) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["3:1", "a:b", "-1:2", "1:2:3", "nan:1", True])
def test_bad_durations(text: object) -> None:
    with pytest.raises(SandboxConfigError, match="job_duration"):
        parse_duration(text)


def test_parse_rate() -> None:
    assert parse_rate("500/10") == (500, 10.0)
    assert parse_rate((60, 1)) == (60, 1.0)
    for bad in ("500", "0/10", "5/0", "x/1", "5/-1"):
        with pytest.raises(SandboxConfigError, match="rate_limit"):
            parse_rate(bad)


def test_parse_faults() -> None:
    assert parse_fault("slow=0.25") == ("slow", 0.25)
    assert parse_faults(["slow=0.1", "drop_connection=0.2"]) == {
        "slow": 0.1,
        "drop_connection": 0.2,
    }
    for bad in (
        ["boom=0.1"],
        ["slow"],
        ["slow=2"],
        {"slow": 0.6, "error_after_accept": 0.6},
        "slow=1",
    ):
        with pytest.raises(SandboxConfigError):
            parse_faults(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "settings",
    [
        {"port": 70000},
        {"port": "80"},
        {"failure_rate": 1.5},
        {"sync_window": -1},
        {"webhook_urls": ["ftp://x"]},
        {"seed": "one"},
        {"client_id": "a:b"},
        {"client_secret": ""},
    ],
)
def test_bad_settings_are_typed_errors(settings: dict[str, object]) -> None:
    with pytest.raises(SandboxConfigError):
        SandboxConfig(**settings)  # type: ignore[arg-type]


def test_replace_allows_only_runtime_settings() -> None:
    config = SandboxConfig().replace(
        failure_rate=0.5, rate_limit="10/1", webhook_urls=["http://h/x"]
    )
    assert config.failure_rate == 0.5 and config.rate_limit == (10, 1.0)
    assert config.webhook_urls == ("http://h/x",)
    with pytest.raises(SandboxConfigError, match="client_secret"):
        SandboxConfig().replace(client_secret="x")


def test_repr_and_public_view_hide_secrets() -> None:
    config = SandboxConfig(client_secret="s3cret-value", access_token="t0ken-value")
    for text in (repr(config), str(config.public())):
        assert "s3cret-value" not in text and "t0ken-value" not in text
    assert config.public()["rate_limit"] == "500/10"
