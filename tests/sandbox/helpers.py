"""Helpers for sandbox tests: an authenticated httpx client and valid request bodies."""

from __future__ import annotations

import time
from typing import Any

import httpx

from rutter_nb.sandbox import Sandbox


def client(sb: Sandbox, version: str = "2024-08-31", **kwargs: Any) -> httpx.Client:
    """An httpx client with Basic auth, a version header and the access token."""
    return httpx.Client(
        base_url=sb.base_url,
        auth=(sb.client_id, sb.client_secret),
        headers={"X-Rutter-Version": version},
        params={"access_token": sb.access_token},
        timeout=30.0,
        **kwargs,
    )


def first_id(http: httpx.Client, plural: str, path: str | None = None) -> str:
    """The id of the first seeded entity of a type."""
    reply = http.get(f"/accounting/{path or plural}")
    reply.raise_for_status()
    return str(reply.json()[plural][0]["id"])


def invoice_body(
    http: httpx.Client, mode: str | None = None, amount: float = 100.0
) -> dict[str, Any]:
    """A valid 2023-03-14-and-2024-08-31 invoice create body for the seeded customer."""
    customer = first_id(http, "customers")
    account = first_id(http, "accounts")
    item = first_id(http, "items")
    body: dict[str, Any] = {
        "invoice": {
            "customer_id": customer,
            "account_id": account,
            "issue_date": "2024-08-01T00:00:00.000Z",
            "due_date": "2024-08-31T00:00:00.000Z",
            "currency_code": "USD",
            "line_items": [
                {"total_amount": amount, "item": {"id": item, "quantity": 1, "unit_amount": amount}}
            ],
        }
    }
    if mode is not None:
        body["response_mode"] = mode
    return body


def wait_job(http: httpx.Client, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll a job until it is terminal (generous timeout: the machine is shared)."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = http.get(f"/jobs/{job_id}").json()
        if job["status"] in ("success", "failure", "partial_success"):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")
        time.sleep(0.05)
