"""Faults, failure rate and determinism of the job engine, over real sockets."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from rutter_nb.sandbox import Sandbox

from .helpers import client, invoice_body, wait_job

INVOICES = "/accounting/invoices"
QUICK = (0.05, 0.2)


def jobs_total(sb: Sandbox) -> int:
    return sum(sb.stats()["jobs"].values())


def test_error_before_accept_is_a_500_and_stores_nothing(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http)
        headers = {"Idempotency-Key": "k-before", "X-Sandbox-Fault": "error_before_accept"}
        failed = http.post(INVOICES, json=body, headers=headers)
        assert failed.status_code == 500
        assert failed.json()["error_type"] == "RUTTER_ERROR"
        assert "X-Rutter-Job-ID" not in failed.headers
        assert jobs_total(sandbox) == 0
        retried = http.post(INVOICES, json=body, headers={"Idempotency-Key": "k-before"})
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    assert sandbox.stats()["faults"] == {"error_before_accept": 1}


def test_error_after_accept_creates_the_job_and_a_keyed_retry_replays_it(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http, mode="async")
        headers = {"Idempotency-Key": "k-after", "X-Sandbox-Fault": "error_after_accept"}
        failed = http.post(INVOICES, json=body, headers=headers)
        assert failed.status_code == 500 and "X-Rutter-Job-ID" not in failed.headers
        assert jobs_total(sandbox) == 1  # the dangerous case: the work happens anyway
        retried = http.post(INVOICES, json=body, headers={"Idempotency-Key": "k-after"})
        assert retried.headers["Idempotent-Replayed"] == "true"
        job = wait_job(http, retried.json()["async_response"]["id"])
        assert job["status"] == "success"
        # without the key, a retry duplicates the invoice
        http.post(INVOICES, json=body, headers={"X-Sandbox-Fault": "error_after_accept"})
        http.post(INVOICES, json=body)
    assert jobs_total(sandbox) == 3


def test_drop_connection_closes_the_socket_after_accepting(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http)
        headers = {"Idempotency-Key": "k-drop", "X-Sandbox-Fault": "drop_connection"}
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(INVOICES, json=body, headers=headers)
        assert jobs_total(sandbox) == 1
        retried = http.post(INVOICES, json=body, headers={"Idempotency-Key": "k-drop"})
    assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "true"
    assert "invoice" in retried.json()


def test_slow_delays_the_reply_but_the_job_goes_on(sandbox: Sandbox) -> None:
    sandbox.configure(slow_seconds=3.0)
    with client(sandbox) as http:
        body = invoice_body(http, mode="async")
        with pytest.raises(httpx.ReadTimeout):
            http.post(INVOICES, json=body, headers={"X-Sandbox-Fault": "slow"}, timeout=0.5)
        assert jobs_total(sandbox) == 1
        sandbox.configure(slow_seconds=0.2)
        reply = http.post(INVOICES, json=body, headers={"X-Sandbox-Fault": "slow"})
        assert "async_response" in reply.json()
    assert sandbox.stats()["faults"] == {"slow": 2}


def test_configured_fault_probabilities_apply_to_writes_only(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=7, job_duration=QUICK, faults={"error_before_accept": 0.5})
    with client(sb) as http:
        body = invoice_body(http, mode="async")
        codes = Counter(http.post(INVOICES, json=body).status_code for _ in range(40))
        reads = Counter(http.get(INVOICES).status_code for _ in range(10))
    assert set(codes) == {200, 500} and 8 <= codes[500] <= 32
    assert reads == {200: 10}
    assert jobs_total(sb) == codes[200]


def test_faults_can_be_switched_on_at_runtime(sandbox: Sandbox) -> None:
    sandbox.configure(faults={"error_after_accept": 1.0})
    with client(sandbox) as http:
        body = invoice_body(http, mode="async")
        assert http.post(INVOICES, json=body).status_code == 500
        sandbox.configure(faults={})
        assert http.post(INVOICES, json=body).status_code == 200


def test_a_seed_makes_ids_repeat(sandbox_factory: Any) -> None:
    ids = []
    for _ in range(2):
        sb = sandbox_factory(seed=11, job_duration=QUICK, db=":memory:")
        with client(sb) as http:
            customers = [c["id"] for c in http.get("/accounting/customers").json()["customers"]]
            job = http.post(INVOICES, json=invoice_body(http)).headers["X-Rutter-Job-ID"]
        ids.append((customers, job))
        sb.stop()
    assert ids[0] == ids[1]
    other = sandbox_factory(seed=12, db=":memory:")
    with client(other) as http:
        assert http.get("/accounting/customers").json()["customers"][0]["id"] != ids[0][0][0]
