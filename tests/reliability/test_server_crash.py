"""Scenario 4: the sandbox is SIGKILLed mid-batch and restarted on the same database; every
accepted job finishes, none vanishes, and the client's batch completes after the restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from batch_helpers import client_for, customer_id, document_numbers, invoices

from rutter_nb.sandbox import Sandbox

from .support import Row, all_jobs, record, server_errors, sized, terminal_jobs

pytestmark = [pytest.mark.reliability, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`rutter-nb sandbox` in its own process, so that it can be SIGKILLed and restarted."""

    def __init__(self, db: Path, port: int) -> None:
        self.db, self.port = db, port
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rutter_nb.cli",
                "sandbox",
                "--port",
                str(self.port),
                "--db",
                str(self.db),
                "--job-duration",
                "0.5:2",
                "--seed",
                "4",
                "--rate-limit",
                "100000/10",
                "--platform-rate",
                "100000/1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert "listening on" in line, line + (self.proc.stderr.read() if self.proc.stderr else "")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class _Remote(Sandbox):
    """A `Sandbox` handle for a server running elsewhere: URL and credentials only."""

    def __init__(self, port: int) -> None:
        super().__init__(port=port)
        self._port = port

    def stats(self) -> dict[str, object]:  # type: ignore[override]
        reply = httpx.get(
            self.url + "/_sandbox/stats", auth=(self.client_id, self.client_secret), timeout=30
        )
        reply.raise_for_status()
        data: dict[str, object] = reply.json()
        return data


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "crash.sqlite3", _free_port())
    srv.start()
    yield srv
    srv.stop()


def test_batch_survives_a_sandbox_sigkill_and_restart(server: ServerProcess) -> None:
    n = sized(60, 400)
    remote = _Remote(server.port)
    reqs = invoices(customer_id(remote), n, "CRASH")
    with client_for(remote) as client:
        batch = client.send_many(reqs, "async", rate_limit="40/1s", concurrency=8)
        deadline = time.monotonic() + 120
        while len(batch.jobs) < n // 3:
            assert time.monotonic() < deadline and not batch.finished
            time.sleep(0.01)
        server.kill()
        accepted_before = {job.id for job in batch.jobs}
        pending_at_kill = sum(not job.done for job in batch.jobs)
        time.sleep(1.0)  # down for a while: requests in flight fail, retries meet a closed port
        server.start()
        batch.wait(timeout=300)
        truth = {job.id: client.fetch_job(job.id) for job in batch.jobs}

    found = document_numbers(remote, "CRASH")
    stats = remote.stats()
    assert batch.rejected == []
    assert len(batch.jobs) == n and len({job.id for job in batch.jobs}) == n
    assert accepted_before <= set(truth)  # no accepted job vanished
    assert all(state.status in ("success", "failure") for state in truth.values())
    assert all(job.done and job.status == truth[job.id].status for job in batch.jobs)
    assert all(job.succeeded for job in batch.jobs)
    assert found == {f"CRASH-{i}": 1 for i in range(n)}
    assert all_jobs(stats) == terminal_jobs(stats) == n  # none left running, none extra
    assert pending_at_kill > 0 or len(accepted_before) < n
    record(
        Row(
            "4 server SIGKILL + restart",
            requests=batch.stats()["requests"],
            lost=n - len(found),
            duplicated=sum(found.values()) - len(found) + all_jobs(stats) - n,
            leaked=0,
            server_errors=server_errors(stats),  # counted since the restart
            notes=f"{n} invoices; killed with {len(accepted_before)} accepted "
            f"({pending_at_kill} unfinished), restarted on the same SQLite file after 1 s",
        )
    )
