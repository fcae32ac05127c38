"""A 1,000-job batch against the sandbox's real rate limiter never receives a 429."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from batch_helpers import api_requests, client_for, customer_id, document_numbers, invoices

from rutter_nb.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]


@pytest.mark.slow
def test_thousand_jobs_with_polling_never_trip_the_rate_limit(
    sandbox_factory: SandboxFactory,
) -> None:
    # The limit is Rutter's shape (requests per window, every request counted) scaled up
    # so that the test stays short: 100 requests per second instead of 500 per 10 s. The
    # platform pace is raised so that jobs, not the platform queue, set the poll count.
    sb = sandbox_factory(
        rate_limit="100/1", platform_rate="1000/1", job_duration=(0.05, 0.2), seed=11
    )
    reqs = invoices(customer_id(sb), 1000, "SCALE")
    before = api_requests(sb)
    with client_for(sb) as client:
        batch = client.send_many(reqs, "async", rate_limit="100/1s").wait(timeout=240)
    stats = batch.stats()
    assert sb.stats()["rate_limited"] == 0
    assert stats["throttled"] == 0
    assert stats["done"] == 1000
    assert all(job.succeeded for job in batch.jobs)
    assert api_requests(sb) - before == stats["requests"]
    assert stats["requests"] < 1000 * 2.5  # one submit and, mostly, one poll per job
    assert document_numbers(sb, "SCALE") == {f"SCALE-{i}": 1 for i in range(1000)}
