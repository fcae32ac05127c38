"""rutter_nb.batch over httpx.MockTransport: exact scheduling decisions, no server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Callable

import httpx

import rutter_nb
from rutter_nb.batch import Batch
from rutter_nb.batch_scheduler import BatchItem, Scheduler
from rutter_nb.webhooks import Receiver

BASE = "http://rutter.test/versioned"
Handler = Callable[[httpx.Request], httpx.Response]


def _requests(n: int) -> list[rutter_nb.ApiRequest]:
    return [
        rutter_nb.request("POST", "/accounting/customers", body={"customer": {"n": i}})
        for i in range(n)
    ]


def _run(handler: Handler, n: int, mode: str = "async") -> Batch:
    async def main() -> Batch:
        async with rutter_nb.AsyncClient(
            BASE,
            client_id="id",
            client_secret="unit-test-secret",
            access_token="unit-test-token",
            transport=httpx.MockTransport(handler),
        ) as client:
            batch = await client.send_many(_requests(n), mode, display=False)
            return await batch.wait_async(timeout=60)

    return asyncio.run(main())


class FakeRutter:
    """Accepts every POST as a job (id from its Idempotency-Key) and answers job GETs
    from a per-job script of statuses."""

    def __init__(self, script: list[tuple[str, dict[str, str]]]) -> None:
        self.script = script
        self.gets: Counter[str] = Counter()
        self.posts = 0
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            if request.method == "POST":
                self.posts += 1
                job_id = "job-" + request.headers["Idempotency-Key"]
                return httpx.Response(
                    200, json={"async_response": {"id": job_id, "status": "pending"}}
                )
            job_id = request.url.path.rsplit("/", 1)[-1]
            step = min(self.gets[job_id], len(self.script) - 1)
            self.gets[job_id] += 1
        status, headers = self.script[step]
        job = {"id": job_id, "status": status, "request": {"method": "POST", "url": "u"}}
        if status in ("success", "failure"):
            job["response"] = {"http_status": 200, "body": {"customer": {"id": job_id}}}
        return httpx.Response(200, json=job, headers=headers)


def test_retry_after_on_a_poll_is_honoured_and_each_job_polled_until_done() -> None:
    fake = FakeRutter([("pending", {"Retry-After": "0.2"}), ("success", {})])
    batch = _run(fake, 5)
    assert fake.posts == 5
    assert set(fake.gets.values()) == {2}
    assert all(job.status == "success" for job in batch.jobs)
    assert batch.stats()["requests"] == 15


def test_unknown_status_stops_polling_that_job() -> None:
    fake = FakeRutter([("pending", {}), ("on_hold_forever", {})])
    batch = _run(fake, 2)
    assert batch.counts()["lost"] == 2
    assert set(fake.gets.values()) == {2}  # no third poll
    assert {job.status for job in batch.jobs} == {"on_hold_forever"}


def test_platform_rate_limit_on_prefer_sync_is_retried_not_rejected() -> None:
    refused: set[str] = set()

    def handler(request: httpx.Request) -> httpx.Response:
        key = request.headers["Idempotency-Key"]
        if key not in refused:
            refused.add(key)
            error = {"error_type": "PLATFORM_ERROR", "error_code": "PLATFORM_RATE_LIMIT_EXCEEDED"}
            return httpx.Response(452, json=error, headers={"Retry-After": "0"})
        body = json.loads(request.content)
        return httpx.Response(
            200, json={"customer": body["customer"]}, headers={"X-Rutter-Job-ID": "job-" + key}
        )

    batch = _run(handler, 4, "prefer_sync")
    assert batch.rejected == []
    assert batch.stats()["submit_retries"] == 4
    assert all(job.sync and job.succeeded for job in batch.jobs)


def test_refusal_is_final_and_not_retried() -> None:
    calls = Counter[str]()

    def handler(request: httpx.Request) -> httpx.Response:
        calls[request.method] += 1
        error = {"error_type": "INVALID_REQUEST", "error_code": "MISSING_FIELD"}
        return httpx.Response(400, json=error)

    batch = _run(handler, 3)
    assert calls == {"POST": 3}
    assert [type(r.error).__name__ for r in batch.rejected] == ["ValidationError"] * 3
    assert batch.total == 0 and batch.finished


def test_jobs_whose_webhook_never_comes_are_polled_after_the_grace() -> None:
    """A receiver nobody delivers to: after `webhook_grace` the scheduler polls instead."""
    fake = FakeRutter([("success", {})])
    items = [BatchItem(i, r.with_idempotency_key(f"k{i}")) for i, r in enumerate(_requests(3))]
    accepted: list[BatchItem] = []

    async def main() -> Scheduler:
        async with rutter_nb.AsyncClient(
            BASE,
            client_id="id",
            client_secret="unit-test-secret",
            access_token="unit-test-token",
            transport=httpx.MockTransport(fake),
        ) as client:
            with Receiver("unit-test-secret") as receiver:
                scheduler = Scheduler(
                    client,
                    items,
                    response_mode="async",
                    concurrency=2,
                    journal=None,
                    receiver=receiver,
                    on_accepted=accepted.append,
                    on_rejected=accepted.append,
                    webhook_grace=0.3,
                )
                await asyncio.wait_for(scheduler.run(), 30)
                return scheduler

    scheduler = asyncio.run(main())
    assert [item.state for item in items] == ["done"] * 3
    assert scheduler.counts == {"polls": 3, "webhooks": 0, "submit_retries": 0}
    assert set(fake.gets.values()) == {1}
    assert len(accepted) == 3
