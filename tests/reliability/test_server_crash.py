"""Scenario 4: the sandbox is SIGKILLed mid-batch and restarted on the same database; every
accepted job finishes, none vanishes, and the client's batch completes after the restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from batch_helpers import client_for, customer_id, document_numbers, invoices

from .remote import Remote, ServerProcess, free_port
from .support import Row, all_jobs, record, server_errors, sized, terminal_jobs

pytestmark = [pytest.mark.reliability, pytest.mark.slow]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        tmp_path / "crash.sqlite3",
        free_port(),
        [
            "--job-duration",
            "0.5:2",
            "--seed",
            "4",
            "--rate-limit",
            "100000/10",
            "--platform-rate",
            "100000/1",
        ],
    )
    srv.start()
    yield srv
    srv.stop()


def test_batch_survives_a_sandbox_sigkill_and_restart(server: ServerProcess) -> None:
    n = sized(60, 400)
    remote = Remote(server.port)
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
