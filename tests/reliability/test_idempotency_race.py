"""Scenario 1: concurrent POSTs with one Idempotency-Key create exactly one job and entity."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from batch_helpers import customer_id, document_numbers

from rutter_nb.sandbox import Sandbox

from .support import Row, all_jobs, record, server_errors, sized, terminal_jobs

pytestmark = pytest.mark.reliability

VERSION = "2024-08-31"


def _body(customer: str, number: str, mode: str, amount: int = 100) -> dict[str, Any]:
    return {
        "response_mode": mode,
        "invoice": {
            "customer_id": customer,
            "issue_date": "2024-05-01T00:00:00.000Z",
            "currency_code": "USD",
            "document_number": number,
            "line_items": [{"total_amount": amount, "description": "race"}],
        },
    }


async def _race(sb: Sandbox, key: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """Send every body at once, each on its own connection, all with the same key."""
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=sb.base_url,
        auth=(sb.client_id, sb.client_secret),
        headers={"X-Rutter-Version": VERSION, "Idempotency-Key": key},
        params={"access_token": sb.access_token},
        timeout=60.0,
        limits=limits,
    ) as http:
        gate = asyncio.Event()

        async def one(body: dict[str, Any]) -> httpx.Response:
            await gate.wait()
            return await http.post("/accounting/invoices", json=body)

        tasks = [asyncio.create_task(one(body)) for body in bodies]
        await asyncio.sleep(0)
        gate.set()
        return await asyncio.gather(*tasks)


def _job_id(reply: httpx.Response) -> str | None:
    job_id: str | None = reply.headers.get("X-Rutter-Job-ID")
    return job_id


def _wait_terminal(sb: Sandbox, jobs: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats = sb.stats()
        if terminal_jobs(stats) >= jobs or time.monotonic() > deadline:
            return stats
        time.sleep(0.05)


@pytest.mark.parametrize("mode", ["async", "prefer_sync"])
def test_one_key_one_body_creates_exactly_one_entity_and_job(sandbox: Sandbox, mode: str) -> None:
    n = sized(50, 200)
    number = f"RACE1-{mode}"
    body = _body(customer_id(sandbox), number, mode)
    replies = asyncio.run(_race(sandbox, str(uuid.uuid4()), [body] * n))

    statuses = Counter(r.status_code for r in replies)
    job_ids = {_job_id(r) for r in replies}
    stats = _wait_terminal(sandbox, 1)
    found = document_numbers(sandbox, number.split("-")[0])
    assert statuses == {200: n}, statuses
    assert len(job_ids) == 1 and None not in job_ids  # every reply names the one job
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in replies) == n - 1
    if mode == "prefer_sync":  # every caller got the same entity back
        assert len({r.json()["invoice"]["id"] for r in replies}) == 1
    assert all_jobs(stats) == 1
    assert stats["entities_created"].get("invoice", 0) == 1
    assert found == {number: 1}
    record(
        Row(
            f"1 idempotency race, one body ({mode})",
            requests=n,
            lost=1 - len(found),
            duplicated=max(0, all_jobs(stats) - 1) + max(0, sum(found.values()) - 1),
            leaked=0,
            server_errors=server_errors(stats),
            notes=f"{n} concurrent POSTs, one key: 1 job, 1 invoice, {n - 1} replays",
        )
    )


def test_one_key_two_bodies_one_wins_the_others_get_409(sandbox: Sandbox) -> None:
    n = sized(50, 200)
    customer = customer_id(sandbox)
    bodies = [_body(customer, f"RACE2-{i % 2}", "async", 100 + i % 2) for i in range(n)]
    replies = asyncio.run(_race(sandbox, str(uuid.uuid4()), bodies))

    accepted = [(b, r) for b, r in zip(bodies, replies, strict=True) if r.status_code == 200]
    refused = [(b, r) for b, r in zip(bodies, replies, strict=True) if r.status_code != 200]
    winner = accepted[0][0]
    stats = _wait_terminal(sandbox, 1)
    found = document_numbers(sandbox, "RACE2")
    # everyone who sent the winning body got the one job; everyone else got a 409 triple
    assert all(b == winner for b, _ in accepted)
    assert len({_job_id(r) for _, r in accepted}) == 1
    assert len(accepted) == n // 2 and len(refused) == n - n // 2
    for body, reply in refused:
        assert body != winner
        assert reply.status_code == 409
        assert reply.json() == {
            "error_type": "IDEMPOTENCY_ERROR",
            "error_code": "IDEMPOTENCY_KEY_REUSED",
            "error_message": reply.json()["error_message"],
        }
        assert _job_id(reply) is None
    assert all_jobs(stats) == 1
    assert stats["entities_created"].get("invoice", 0) == 1
    assert found == {winner["invoice"]["document_number"]: 1}
    record(
        Row(
            "1 idempotency race, two bodies",
            requests=n,
            lost=1 - len(found),
            duplicated=max(0, all_jobs(stats) - 1) + max(0, sum(found.values()) - 1),
            leaked=0,
            server_errors=server_errors(stats),
            notes=f"{len(accepted)} got the one job, {len(refused)} got 409",
        )
    )
