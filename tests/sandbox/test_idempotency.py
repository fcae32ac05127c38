"""Idempotency-Key: replay with the same job id, 409 on a mismatch, one job under a race."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from rutter_nb.sandbox import Sandbox
from rutter_nb.sandbox.errors import ApiError
from rutter_nb.sandbox.idempotency import check_key, fingerprint, replay_job_id, scope

from .helpers import client, invoice_body, wait_job

INVOICES = "/accounting/invoices"


# the rules, alone ------------------------------------------------------------------
def test_fingerprint_ignores_key_order_but_not_method_path_or_body() -> None:
    base = fingerprint("POST", "/p", {"a": 1, "b": [1, 2]})
    assert fingerprint("post", "/p", {"b": [1, 2], "a": 1}) == base
    assert fingerprint("PATCH", "/p", {"a": 1, "b": [1, 2]}) != base
    assert fingerprint("POST", "/q", {"a": 1, "b": [1, 2]}) != base
    assert fingerprint("POST", "/p", {"a": 1, "b": [2, 1]}) != base


def test_replay_decision() -> None:
    assert replay_job_id(None, "f") is None
    assert replay_job_id(("f", "job-1"), "f") == "job-1"
    with pytest.raises(ApiError) as info:
        replay_job_id(("f", "job-1"), "g")
    assert info.value.status == 409 and info.value.error_code == "IDEMPOTENCY_KEY_REUSED"


def test_scope_separates_clients_and_connections() -> None:
    assert len({scope("a", "t1"), scope("a", "t2"), scope("b", "t1")}) == 3


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\tkey", "with space", "ключ"])
def test_unusable_keys_are_rejected(key: str) -> None:
    with pytest.raises(ApiError) as info:
        check_key(key)
    assert info.value.status == 400


# over HTTP ---------------------------------------------------------------------------
def test_same_key_replays_the_first_outcome_with_the_same_job(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http)
        headers = {"Idempotency-Key": "key-replay"}
        first = http.post(INVOICES, json=body, headers=headers)
        second = http.post(INVOICES, json=body, headers=headers)
        assert first.status_code == second.status_code == 200
        assert "Idempotent-Replayed" not in first.headers
        assert second.headers["Idempotent-Replayed"] == "true"
        assert second.headers["X-Rutter-Job-ID"] == first.headers["X-Rutter-Job-ID"]
        assert second.json() == first.json()  # the same invoice, not a second one
        assert len(http.get(INVOICES).json()["invoices"]) == 1


def test_replay_of_an_async_write_returns_the_same_job(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http, mode="async")
        headers = {"Idempotency-Key": "key-async"}
        first = http.post(INVOICES, json=body, headers=headers).json()["async_response"]
        wait_job(http, first["id"])
        again = http.post(INVOICES, json=body, headers=headers)
        assert again.json()["async_response"] == {**first, "status": "success"}
    assert sum(sandbox.stats()["jobs"].values()) == 1


def test_failed_outcomes_are_replayed_too(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http)
        body["invoice"]["customer_id"] = "00000000-0000-4000-8000-000000000000"
        headers = {"Idempotency-Key": "key-fail"}
        first = http.post(INVOICES, json=body, headers=headers)
        again = http.post(INVOICES, json=body, headers=headers)
    assert first.status_code == again.status_code == 450
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"


def test_same_key_with_another_body_path_or_method_is_409(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http)
        headers = {"Idempotency-Key": "key-409"}
        first = http.post(INVOICES, json=body, headers=headers)
        invoice_id = first.json()["invoice"]["id"]
        other_body = invoice_body(http, amount=1.0)
        other_path = {"customer": {"customer_name": "x"}}
        replies = [
            http.post(INVOICES, json=other_body, headers=headers),
            http.post("/accounting/customers", json=other_path, headers=headers),
            http.patch(
                f"{INVOICES}/{invoice_id}", json={"invoice": {"memo": "m"}}, headers=headers
            ),
        ]
    for reply in replies:
        assert reply.status_code == 409
        assert reply.json()["error_code"] == "IDEMPOTENCY_KEY_REUSED"
        assert "X-Rutter-Job-ID" not in reply.headers
    assert sum(sandbox.stats()["jobs"].values()) == 1


def test_a_request_rejected_before_acceptance_stores_no_key(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        headers = {"Idempotency-Key": "key-retry-after-400"}
        body = invoice_body(http)
        bad = {"invoice": {**body["invoice"], "currency_code": 5}}
        assert http.post(INVOICES, json=bad, headers=headers).status_code == 400
        good = http.post(INVOICES, json=body, headers=headers)
    assert good.status_code == 200 and "Idempotent-Replayed" not in good.headers


def test_twenty_concurrent_posts_with_one_key_create_exactly_one_job(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http, mode="async")

    async def race() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            base_url=sandbox.base_url,
            auth=(sandbox.client_id, sandbox.client_secret),
            headers={"X-Rutter-Version": "2024-08-31", "Idempotency-Key": "key-race"},
            params={"access_token": sandbox.access_token},
            timeout=30,
            limits=httpx.Limits(max_connections=20),
        ) as http:
            return await asyncio.gather(*(http.post(INVOICES, json=body) for _ in range(20)))

    replies = asyncio.run(race())
    assert [r.status_code for r in replies] == [200] * 20
    assert len({r.headers["X-Rutter-Job-ID"] for r in replies}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in replies) == 1
    assert sum(sandbox.stats()["jobs"].values()) == 1


def test_keys_are_scoped_per_access_token(sandbox: Sandbox) -> None:
    auth = (sandbox.client_id, sandbox.client_secret)
    other = httpx.post(sandbox.url + "/_sandbox/connections", auth=auth).json()["access_token"]
    with client(sandbox) as http:
        body = {"customer": {"customer_name": "Shared key"}}
        headers = {"Idempotency-Key": "key-scoped"}
        mine = http.post("/accounting/customers", json=body, headers=headers)
        theirs = http.post(
            "/accounting/customers", json=body, headers=headers, params={"access_token": other}
        )
    assert mine.status_code == theirs.status_code == 200
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.headers["X-Rutter-Job-ID"] != theirs.headers["X-Rutter-Job-ID"]


def test_same_key_while_the_first_still_runs_returns_the_same_job(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http, mode="async")
        headers = {"Idempotency-Key": "key-running", "X-Sandbox-Job-Duration": "1"}
        first = http.post(INVOICES, json=body, headers=headers).json()["async_response"]
        running = http.post(INVOICES, json=body, headers=headers).json()["async_response"]
    assert running["id"] == first["id"]
    assert running["status"] in ("prequeued", "pending")


def test_expired_keys_are_forgotten(sandbox_factory: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "ttl.sqlite3")
    body = {"customer": {"customer_name": "Kept"}}
    headers = {"Idempotency-Key": "key-ttl"}
    first = sandbox_factory(db=db, job_duration=(0, 0))
    with client(first) as http:
        job_id = http.post("/accounting/customers", json=body, headers=headers).headers[
            "X-Rutter-Job-ID"
        ]
    first.stop()
    kept = sandbox_factory(db=db, job_duration=(0, 0))
    with client(kept) as http:
        replay = http.post("/accounting/customers", json=body, headers=headers)
    assert replay.headers["X-Rutter-Job-ID"] == job_id
    kept.stop()
    expired = sandbox_factory(db=db, job_duration=(0, 0), idempotency_ttl=0)
    with client(expired) as http:
        fresh = http.post("/accounting/customers", json=body, headers=headers)
    assert fresh.headers["X-Rutter-Job-ID"] != job_id and "Idempotent-Replayed" not in fresh.headers
