"""rutter_nb.batch: send_many against the sandbox over real sockets (small batches)."""

from __future__ import annotations

import _thread
import asyncio
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from batch_helpers import api_requests, client_for, customer_id, document_numbers, invoices

import rutter_nb
from rutter_nb.batch import Batch, BatchTimeout
from rutter_nb.errors import InvalidRequest, ValidationError
from rutter_nb.journal import read
from rutter_nb.ratelimit import RateLimitError
from rutter_nb.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]


def test_async_batch_follows_every_job_to_its_end(sandbox: Sandbox) -> None:
    reqs = invoices(customer_id(sandbox), 30, "ASYNC")
    before = api_requests(sandbox)
    with client_for(sandbox) as client:
        batch = client.send_many(reqs, "async")
        assert isinstance(batch, Batch)
        batch.wait(timeout=120)
    assert len(batch.jobs) == 30
    assert {job.status for job in batch.jobs} == {"success"}
    assert len({job.id for job in batch.jobs}) == 30
    stats = batch.stats()
    assert stats["done"] == 30 and stats["throttled"] == 0
    # every HTTP request the batch made reached the sandbox, and nothing else did
    assert api_requests(sandbox) - before == stats["requests"] == 30 + stats["polls"]
    assert sum(job.polls for job in batch.jobs) == stats["polls"]
    assert document_numbers(sandbox, "ASYNC") == {f"ASYNC-{i}": 1 for i in range(30)}


def test_prefer_sync_batch_costs_one_request_per_job(sandbox: Sandbox) -> None:
    reqs = invoices(customer_id(sandbox), 20, "SYNC")
    with client_for(sandbox) as client:
        batch = client.send_many(reqs, "prefer_sync").wait(timeout=120)
    assert all(job.sync and job.succeeded for job in batch.jobs)
    assert batch.stats()["requests"] == 20
    assert batch.stats()["polls"] == 0
    assert len(document_numbers(sandbox, "SYNC")) == 20


def test_refused_requests_are_listed_with_their_typed_errors(sandbox: Sandbox) -> None:
    good = invoices(customer_id(sandbox), 4, "MIX")
    bad = rutter_nb.request("POST", "/accounting/invoices", body={"invoice": {"memo": "x"}})
    with client_for(sandbox) as client:
        batch = client.send_many([good[0], bad, *good[1:]], "async").wait(timeout=120)
    assert [r.index for r in batch.rejected] == [1]
    assert isinstance(batch.rejected[0].error, ValidationError)
    assert batch.rejected[0].final is True
    assert len(batch.jobs) == 4 and batch.total == 4
    frames = batch.to_frames(entities="invoice")
    assert len(frames.jobs) == 4
    assert len(frames.errors) >= 1
    assert "client_secret" not in frames.errors.to_string()


def test_jobs_frame_has_one_row_per_job(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        batch = client.send_many(invoices(customer_id(sandbox), 6, "FR"), "async")
        frame = batch.wait(timeout=120).jobs_frame(entities="invoice")
    assert len(frame) == 6
    assert set(frame["status"].astype(str)) == {"success"}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"response_mode": "sync"}, InvalidRequest),
        ({"concurrency": 0}, InvalidRequest),
        ({"rate_limit": "fast"}, RateLimitError),
        ({"webhooks": "yes"}, InvalidRequest),
    ],
)
def test_bad_options_raise_typed_errors_before_anything_is_written(
    sandbox: Sandbox, tmp_path: Path, kwargs: dict[str, object], error: type[Exception]
) -> None:
    journal = tmp_path / "j.jsonl"
    reqs = invoices("cust", 2, "BAD")
    with client_for(sandbox) as client, pytest.raises(error):
        client.send_many(reqs, journal=journal, **kwargs)  # type: ignore[arg-type]
    assert not journal.exists()


def test_bad_requests_raise_typed_errors(sandbox: Sandbox) -> None:
    reqs = invoices("cust", 2, "BAD")
    with client_for(sandbox) as client:
        with pytest.raises(InvalidRequest, match="not an ApiRequest"):
            client.send_many([reqs[0], {"invoice": {}}])  # type: ignore[list-item]
        with pytest.raises(InvalidRequest, match="batches send writes"):
            client.send_many([rutter_nb.request("GET", "/accounting/invoices")])
        with pytest.raises(InvalidRequest, match="repeats Idempotency-Key"):
            client.send_many([r.with_idempotency_key("same") for r in reqs])
        with pytest.raises(InvalidRequest, match="single one"):
            client.send_many(reqs[0])  # type: ignore[arg-type]


def test_wait_timeout_raises_and_the_batch_goes_on(sandbox: Sandbox) -> None:
    reqs = [
        r.with_headers(X_Sandbox_Job_Duration="1.5")
        for r in invoices(customer_id(sandbox), 3, "SLOW")
    ]
    with client_for(sandbox) as client:
        batch = client.send_many(reqs, "async")
        with pytest.raises(BatchTimeout, match="goes on"):
            batch.wait(timeout=0.2)
        assert not batch.finished
        batch.wait(timeout=120)
    assert [job.status for job in batch.jobs] == ["success"] * 3


def test_cancel_stops_sending_and_the_journal_can_finish_the_rest(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "batch.jsonl"
    reqs = invoices(customer_id(sandbox), 40, "CANCEL")
    with client_for(sandbox) as client:
        batch = client.send_many(reqs, "async", rate_limit="10/1s", concurrency=2, journal=path)
        deadline = time.monotonic() + 60
        while len(batch.jobs) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        batch.cancel()
        assert batch.finished and batch.cancelled
        counts = batch.counts()
        assert counts["unsent"] > 0
        sent_before = len(batch.jobs)

        resumed = Batch.resume(path, client).wait(timeout=120)
    assert read(path).counts()["done"] == 40
    assert len(resumed.jobs) == 40
    assert len({job.id for job in resumed.jobs}) == 40
    assert sent_before < 40
    assert document_numbers(sandbox, "CANCEL") == {f"CANCEL-{i}": 1 for i in range(40)}


def test_async_client_send_many_and_wait_async(sandbox: Sandbox) -> None:
    reqs = invoices(customer_id(sandbox), 8, "AIO")

    async def main() -> Batch:
        async with rutter_nb.AsyncClient(
            sandbox.base_url,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
            access_token=sandbox.access_token,
        ) as client:
            batch = await client.send_many(reqs, "async")
            return await batch.wait_async(timeout=120)

    batch = asyncio.run(main())
    assert len(batch.jobs) == 8 and all(job.succeeded for job in batch.jobs)


def test_jobs_can_still_be_refreshed_after_the_batch(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        batch = client.send_many(invoices(customer_id(sandbox), 2, "AFTER"), "async")
        job = batch.wait(timeout=120).jobs[0]
    polls = job.polls
    assert job.refresh().status == "success"
    assert job.polls == polls + 1


def test_a_too_generous_rate_limit_adapts_to_429s_without_duplicates(
    sandbox_factory: SandboxFactory,
) -> None:
    """The server allows 20 requests a second but the batch was told 100: it gets 429s,
    slows down, and still creates every invoice exactly once."""
    sb = sandbox_factory(rate_limit="20/1", job_duration=(0.05, 0.1), seed=3)
    reqs = invoices(customer_id(sb), 40, "ADAPT")
    with client_for(sb) as client:
        batch = client.send_many(reqs, "async", rate_limit="100/1s").wait(timeout=180)
    assert batch.stats()["throttled"] > 0
    assert batch.bucket.throttled == batch.stats()["throttled"]
    assert all(job.succeeded for job in batch.jobs)
    assert document_numbers(sb, "ADAPT") == {f"ADAPT-{i}": 1 for i in range(40)}


def test_no_secret_in_repr_or_journal(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    with client_for(sandbox) as client:
        batch = client.send_many(invoices(customer_id(sandbox), 3, "SECRET"), journal=path)
        batch.wait(timeout=120)
        auth = client.settings.auth_header
    text = path.read_text()
    shown = repr(batch) + str(batch.stats()) + repr(batch.jobs) + repr(batch.bucket)
    for secret in (sandbox.client_secret, sandbox.access_token, auth.split()[-1]):
        assert secret not in text
        assert secret not in shown
    assert all(json.loads(line) for line in text.splitlines())


def test_faults_after_acceptance_never_duplicate(sandbox_factory: SandboxFactory) -> None:
    """5xx after acceptance and dropped connections: retried with the same key, so the
    sandbox replays instead of creating a second invoice."""
    sb = sandbox_factory(
        job_duration=(0.05, 0.1),
        faults={"error_after_accept": 0.2, "drop_connection": 0.1, "error_before_accept": 0.1},
        seed=5,
    )
    reqs = invoices(customer_id(sb), 40, "FAULT")
    with client_for(sb) as client:
        batch = client.send_many(reqs, "async").wait(timeout=180)
    assert sum(sb.stats()["faults"].values()) > 0
    assert [r for r in batch.rejected if r.final] == []
    accepted = {job.id for job in batch.jobs}
    assert len(accepted) == len(batch.jobs) == 40 - len(batch.rejected)
    numbers = document_numbers(sb, "FAULT")
    assert set(numbers.values()) == {1}  # never twice
    assert len(numbers) == 40 - len(batch.rejected)


def test_ctrl_c_stops_waiting_but_not_the_batch(sandbox: Sandbox) -> None:
    reqs = [
        r.with_headers(X_Sandbox_Job_Duration="1.0")
        for r in invoices(customer_id(sandbox), 3, "INTR")
    ]
    with client_for(sandbox) as client:
        batch = client.send_many(reqs, "async")
        threading.Timer(0.3, _thread.interrupt_main).start()
        with pytest.raises(KeyboardInterrupt):
            batch.wait(timeout=60)
        assert not batch.finished
        batch.wait(timeout=60)
    assert [job.status for job in batch.jobs] == ["success"] * 3
