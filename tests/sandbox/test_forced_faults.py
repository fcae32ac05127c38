"""A fault forced by X-Sandbox-Fault hits a key's first accepted attempt, not its retries."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from rutter_nb.sandbox import Sandbox
from tests.sandbox.helpers import client, invoice_body, wait_job


@pytest.mark.parametrize("kind", ["error_after_accept", "drop_connection"])
def test_retry_with_the_same_key_recovers_from_a_forced_fault(
    sandbox_factory: Callable[..., Sandbox], kind: str
) -> None:
    sb = sandbox_factory(job_duration=(0.05, 0.1))
    with client(sb) as http:
        body = invoice_body(http, mode="async")
        headers = {"Idempotency-Key": str(uuid.uuid4()), "X-Sandbox-Fault": kind}
        first = _post(http, body, headers)
        assert first is None or first.status_code == 500
        second = http.post("/accounting/invoices", json=body, headers=headers)
        assert second.status_code == 200
        assert second.headers["Idempotent-Replayed"] == "true"
        job = wait_job(http, second.json()["async_response"]["id"])
        assert job["status"] == "success"
    assert sb.stats()["entities_created"] == {"invoice": 1}
    assert sb.stats()["faults"] == {kind: 1}


def _post(http: Any, body: dict[str, Any], headers: dict[str, str]) -> Any:
    """POST, returning None when the sandbox dropped the connection."""
    import httpx

    try:
        return http.post("/accounting/invoices", json=body, headers=headers)
    except httpx.TransportError:
        return None
