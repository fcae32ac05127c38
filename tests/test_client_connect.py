"""connect(): the embedded sandbox when no credentials exist, the real API otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import rutter_nb
from rutter_nb.client import _stop_embedded_sandbox

ENV = ("RUTTER_BASE_URL", "RUTTER_CLIENT_ID", "RUTTER_CLIENT_SECRET", "RUTTER_ACCESS_TOKEN")


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    yield
    _stop_embedded_sandbox()


def test_connect_without_credentials_starts_one_sandbox(
    no_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    first = rutter_nb.connect()
    second = rutter_nb.connect(timeout=10.0)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "embedded sandbox" in lines[0]
    assert first.base_url == second.base_url and first.base_url.startswith("http://127.0.0.1:")
    assert first.base_url.endswith("/versioned")
    assert first.sandbox is not None and first.sandbox is second.sandbox
    assert first.sandbox.base_url == first.base_url
    job = first.send(rutter_nb.customer(customer_name="Ada"), "async").wait(timeout=60)
    assert job.succeeded and job.result["customer"]["customer_name"] == "Ada"
    first.close()
    second.close()


def test_connect_with_credentials_targets_the_real_api(
    no_credentials: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RUTTER_CLIENT_ID", "real-id")
    monkeypatch.setenv("RUTTER_CLIENT_SECRET", "real-secret-value")
    client = rutter_nb.connect(env="sandbox")
    assert client.base_url == "https://sandbox.rutterapi.com/versioned"
    assert rutter_nb.connect().base_url == "https://production.rutterapi.com/versioned"
    assert client.sandbox is None
    assert capsys.readouterr().out == ""
