"""Scenario 3: the process running a batch is SIGKILLed at several points; ``Batch.resume``
finishes it from the journal with no duplicate and nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import client_for, customer_id, document_numbers

from rutter_nb.batch import Batch
from rutter_nb.journal import JournalError, read
from rutter_nb.sandbox import Sandbox

from .support import Row, all_jobs, record, server_errors, sized

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

TESTS = Path(__file__).resolve().parent.parent

# Runs in a child process, like a user's notebook: credentials from the environment.
CHILD = """
import sys
import rutter_nb
from batch_helpers import invoices

journal, customer, n, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
client = rutter_nb.Client()
batch = client.send_many(
    invoices(customer, n, prefix), "async", journal=journal, rate_limit="25/1s", concurrency=4
)
batch.wait()
print("child finished", flush=True)
"""


def _counts(path: Path) -> dict[str, int]:
    try:
        return read(path).counts()
    except (JournalError, OSError):
        return {"unsent": 0, "accepted": 0, "done": 0, "rejected": 0}


def _planned(path: Path, n: int) -> bool:
    c = _counts(path)
    return sum(c.values()) == n


# point -> (sandbox settings, when to kill: f(journal counts, sandbox stats, n) -> bool)
POINTS: dict[
    str, tuple[dict[str, object], Callable[[dict[str, int], dict[str, Any], int], bool]]
] = {
    # every reply held back: jobs are stored at the server, none acknowledged to the client
    "before any accept": (
        {"faults": {"slow": 1.0}, "slow_seconds": 60.0},
        # (concurrency 4: four stored and held)
        lambda c, s, n: sum(c.values()) == n and all_jobs(s) >= 4 and c["accepted"] == 0,
    ),
    "mid-batch": ({}, lambda c, s, n: n // 2 <= c["accepted"] + c["done"] < n),
    # every request accepted, most jobs still running: the child is only polling
    "during polling": (
        {"job_duration": (6.0, 10.0)},
        lambda c, s, n: c["unsent"] == 0 and c["accepted"] >= n // 2,
    ),
}


@pytest.mark.parametrize("point", list(POINTS))
def test_resume_after_sigkill_creates_every_invoice_exactly_once(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path, point: str
) -> None:
    n = sized(30, 200)
    settings, due = POINTS[point]
    sb = sandbox_factory(job_duration=(0.05, 0.2), seed=3)
    customer = customer_id(sb)
    sb.configure(**settings)
    prefix = "KILL" + "".join(w[0] for w in point.split()).upper()
    path = tmp_path / "batch.jsonl"
    env = {
        **os.environ,
        "RUTTER_BASE_URL": sb.base_url,
        "RUTTER_CLIENT_ID": sb.client_id,
        "RUTTER_CLIENT_SECRET": sb.client_secret,
        "RUTTER_ACCESS_TOKEN": sb.access_token,
        "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path]),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), customer, str(n), prefix],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 180
        while not due(_counts(path), sb.stats(), n):
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, f"never reached {point}: {_counts(path)}"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    at_kill = _counts(path)
    stored_at_kill = all_jobs(sb.stats())
    assert at_kill["done"] < n  # killed before the end, really

    sb.configure(faults={}, job_duration=(0.05, 0.2))
    with client_for(sb) as client:
        batch = Batch.resume(path, client).wait(timeout=300)

    found = document_numbers(sb, prefix)
    stats = sb.stats()
    assert len(batch.jobs) == n and len({job.id for job in batch.jobs}) == n
    assert all(job.succeeded for job in batch.jobs)
    assert read(path).counts() == {"unsent": 0, "accepted": 0, "done": n, "rejected": 0}
    assert found == {f"{prefix}-{i}": 1 for i in range(n)}
    assert stats["entities_created"]["invoice"] == n
    assert all_jobs(stats) == stats["jobs"]["success"] == n  # replayed keys made no new job
    record(
        Row(
            f"3 client SIGKILL {point}",
            requests=stats["requests_total"],
            lost=n - len(found),
            duplicated=sum(found.values()) - len(found) + all_jobs(stats) - n,
            leaked=0,
            server_errors=server_errors(stats),
            notes=f"{n} invoices; at kill: journal {at_kill}, {stored_at_kill} jobs stored; "
            "Batch.resume finished",
        )
    )
