"""`rutter-nb sandbox`: flags map onto `Sandbox(...)`, and the server runs until Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from rutter_nb.cli import main, parser
from rutter_nb.sandbox.cli import build


def test_flags_become_sandbox_settings(tmp_path: Path) -> None:
    args = parser().parse_args(
        [
            "sandbox",
            "--port=0",
            f"--db={tmp_path / 'x.db'}",
            "--client-id=cid",
            "--client-secret=csecret",
            "--access-token=tok",
            "--sync-window=5",
            "--job-duration=0.1:0.4",
            "--failure-rate=0.2",
            "--rate-limit=100/10",
            "--platform-rate=5/1",
            "--webhook-url=http://127.0.0.1:1/a",
            "--webhook-url=http://127.0.0.1:1/b",
            "--seed=9",
            "--fault=slow=0.1",
            "--fault=drop_connection=0.05",
        ]
    )
    config = build(args).config
    assert (config.client_id, config.client_secret, config.access_token) == (
        "cid",
        "csecret",
        "tok",
    )
    assert config.sync_window == 5.0 and config.job_duration == (0.1, 0.4)
    assert config.failure_rate == 0.2 and config.rate_limit == (100, 10.0)
    assert config.platform_rate == (5, 1.0) and config.seed == 9
    assert config.webhook_urls == ("http://127.0.0.1:1/a", "http://127.0.0.1:1/b")
    assert config.faults == {"slow": 0.1, "drop_connection": 0.05}


@pytest.mark.parametrize(
    "flag", ["--job-duration=3:1", "--fault=boom=1", "--rate-limit=fast", "--failure-rate=2"]
)
def test_bad_flags_exit_with_a_clear_message(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["sandbox", flag])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and "Traceback" not in err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "sandbox" in capsys.readouterr().out


def test_the_command_serves_until_interrupted() -> None:
    command = [sys.executable, "-m", "rutter_nb.cli", "sandbox", "--db", ":memory:", "--seed", "1"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Rutter sandbox listening on http://127.0.0.1:")
        url = first.rsplit(" ", 1)[-1].strip()
        lines = [proc.stdout.readline() for _ in range(6)]
        assert any("client_secret" in line for line in lines)  # demo credentials are printed
        reply = httpx.get(
            url + "/versioned/accounting/customers",
            params={"access_token": "sandbox-access-token"},
            auth=("sandbox-client-id", "sandbox-client-secret"),
            headers={"X-Rutter-Version": "2024-08-31"},
        )
        assert reply.status_code == 200 and len(reply.json()["customers"]) == 3
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Sandbox stopped." in out and "Traceback" not in err
