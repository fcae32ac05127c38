"""The chaos batch shared by scenario 2 and the soak: faults, slow replies and 429s."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from batch_helpers import client_for, customer_id, document_numbers, invoices

from rutter_nb.batch import Batch
from rutter_nb.sandbox import Sandbox

from .support import all_jobs, server_errors

FAULTS = {
    "error_before_accept": 0.05,
    "error_after_accept": 0.05,
    "drop_connection": 0.02,
    "slow": 0.02,
}
# What the sandbox is started with: faults, a 1 s `slow`, and an organisation limit well
# under the batch's own 500/10s, so that the batch meets 429s and must slow down.
SANDBOX = {
    "faults": FAULTS,
    "slow_seconds": 1.0,
    "rate_limit": "30/2",
    "job_duration": (0.05, 0.3),
}


@dataclass
class Outcome:
    """What one chaos batch did, as counted by the client and by the server."""

    requested: int
    batch: Batch
    found: Counter[str]
    stats: dict[str, Any]
    jobs_before: int

    @property
    def lost(self) -> int:
        return self.requested - len(self.found)

    @property
    def duplicated(self) -> int:
        extra_entities = sum(self.found.values()) - len(self.found)
        extra_jobs = all_jobs(self.stats) - self.jobs_before - self.requested
        return extra_entities + max(0, extra_jobs)

    @property
    def server_errors(self) -> int:
        return server_errors(self.stats)


def run_chaos(sb: Sandbox, n: int, prefix: str, *, jobs_before: int = 0) -> Outcome:
    """Send ``n`` invoices through ``send_many`` against ``sb`` and count what exists."""
    reqs = invoices(customer_id(sb), n, prefix)
    with client_for(sb) as client:
        batch = client.send_many(reqs, "async", rate_limit="500/10s").wait(timeout=60 + n)
    return Outcome(n, batch, document_numbers(sb, prefix), sb.stats(), jobs_before)
