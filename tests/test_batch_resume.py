"""Batch.resume: after a SIGKILL halfway, or a cancel, every request exists exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_helpers import client_for, customer_id, document_numbers, invoices

from rutter_nb.batch import Batch
from rutter_nb.journal import Journal, JournalError, read
from rutter_nb.sandbox import Sandbox

N = 120

# Runs in a child process: send N invoices with a journal, slowly enough to be killed
# halfway. Credentials come from the environment, like a user's notebook.
CHILD = """
import sys
import rutter_nb
from batch_helpers import invoices

journal, customer, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = rutter_nb.Client()
batch = client.send_many(
    invoices(customer, n, "KILL"), "async", journal=journal, rate_limit="25/1s", concurrency=4
)
batch.wait()
print("child finished", flush=True)
"""


def _accepted(path: Path) -> int:
    try:
        return sum(e.job_id is not None for e in read(path).entries)
    except JournalError:
        return 0  # not written yet


@pytest.mark.slow
def test_resume_after_sigkill_halfway_creates_every_invoice_exactly_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "batch.jsonl"
    env = {
        **os.environ,
        "RUTTER_BASE_URL": sandbox.base_url,
        "RUTTER_CLIENT_ID": sandbox.client_id,
        "RUTTER_CLIENT_SECRET": sandbox.client_secret,
        "RUTTER_ACCESS_TOKEN": sandbox.access_token,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path]),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), customer_id(sandbox), str(N)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while _accepted(path) < N // 2 and time.monotonic() < deadline:
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    state = read(path)
    counts = state.counts()
    assert N // 2 <= counts["accepted"] + counts["done"] < N  # killed halfway, really
    assert counts["unsent"] > 0

    with client_for(sandbox) as client:
        batch = Batch.resume(path, client).wait(timeout=180)

    assert len(batch.jobs) == N
    assert len({job.id for job in batch.jobs}) == N
    assert all(job.succeeded for job in batch.jobs)
    assert all(job.submitted_at is not None for job in batch.jobs)  # kept across the kill
    assert read(path).counts() == {"unsent": 0, "accepted": 0, "done": N, "rejected": 0}
    # the sandbox holds each invoice exactly once: no duplicate, none lost
    assert document_numbers(sandbox, "KILL") == {f"KILL-{i}": 1 for i in range(N)}
    stats = sandbox.stats()
    assert stats["entities_created"]["invoice"] == N  # this sandbox created nothing else
    assert stats["jobs"]["success"] == N  # and made no second job for a replayed key


def test_resume_of_a_finished_batch_sends_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    with client_for(sandbox) as client:
        first = client.send_many(invoices(customer_id(sandbox), 5, "DONE"), journal=path)
        first.wait(timeout=120)
        resumed = Batch.resume(path, client).wait(timeout=60)
    assert resumed.stats()["requests"] == 0
    assert [job.status for job in resumed.jobs] == ["success"] * 5
    durations = {job.id: job.duration for job in first.jobs}
    assert {job.id: job.duration for job in resumed.jobs} == durations  # still true after
    assert resumed.jobs[0].result["invoice"]["document_number"].startswith("DONE-")


def test_resume_refuses_a_journal_from_another_server(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    with Journal.create(path, {"count": 0, "base_url": "http://elsewhere.test/versioned"}):
        pass
    with client_for(sandbox) as client, pytest.raises(JournalError, match="elsewhere"):
        Batch.resume(path, client)
    Journal.append_to(path)[0].close()  # the failed resume released its lock


def test_resume_refuses_a_journal_whose_plan_was_cut_short(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "batch.jsonl"
    with Journal.create(path, {"count": 3, "base_url": None}) as journal:
        journal.record_requests([(0, "k0", {"method": "POST", "path": "/accounting/invoices"})])
    with client_for(sandbox) as client, pytest.raises(JournalError, match="1 of 3"):
        Batch.resume(path, client)


def test_resume_tolerates_a_torn_last_line(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    with client_for(sandbox) as client:
        client.send_many(invoices(customer_id(sandbox), 3, "TORN"), journal=path).wait(timeout=120)
        with open(path, "ab") as fh:
            fh.write(json.dumps({"type": "done", "i": 0})[:12].encode())
        resumed = Batch.resume(path, client).wait(timeout=60)
    assert len(resumed.jobs) == 3
    assert all(json.loads(line) for line in path.read_text().splitlines())
