"""Scenario 2: a batch through injected faults, slow replies and 429s loses and duplicates
nothing: every request ends in exactly one entity and one terminal job."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rutter_nb.sandbox import Sandbox

from .chaos import SANDBOX, run_chaos
from .support import Row, record, sized, terminal_jobs

pytestmark = [pytest.mark.reliability, pytest.mark.slow]


def test_chaos_batch_creates_every_invoice_exactly_once(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    n = sized(150, 1000)
    sb = sandbox_factory(seed=2, **SANDBOX)
    out = run_chaos(sb, n, "CHAOS")
    batch, stats = out.batch, out.stats

    assert batch.rejected == []  # nothing given up on: a resume would have work to do
    assert len(batch.jobs) == n and len({job.id for job in batch.jobs}) == n
    assert all(job.done for job in batch.jobs)  # every job terminal
    assert all(job.succeeded for job in batch.jobs)
    # the server's view: one entity per request (list endpoint and stats), one job each
    assert out.found == {f"CHAOS-{i}": 1 for i in range(n)}
    assert stats["entities_created"]["invoice"] == n
    assert terminal_jobs(stats) == stats["jobs"]["success"] == n
    assert out.lost == 0 and out.duplicated == 0
    # and the chaos really happened
    faults = stats["faults"]
    assert sum(faults.values()) > 0 and batch.stats()["throttled"] > 0
    assert out.server_errors > 0
    record(
        Row(
            "2 chaos batch",
            requests=batch.stats()["requests"],
            lost=out.lost,
            duplicated=out.duplicated,
            leaked=0,
            server_errors=out.server_errors,
            notes=f"{n} invoices; injected "
            + ", ".join(f"{k} {v}" for k, v in sorted(faults.items()))
            + f"; {batch.stats()['throttled']} x 429 (5xx are the injected faults)",
        )
    )
