"""The stats snapshot's shape and reset."""

from __future__ import annotations

from rutter_nb.sandbox.stats import Stats


def test_snapshot_counts_routes_429s_and_webhooks() -> None:
    stats = Stats()
    stats.count_request("GET /versioned/jobs/{id}", 200)
    stats.count_request("GET /versioned/jobs/{id}", 429)
    stats.count_request("POST /versioned/accounting/invoices", 452)
    stats.webhooks["delivered"] += 1
    snap = stats.snapshot({"success": 2}, {"invoice": 2})
    assert snap["requests"]["GET /versioned/jobs/{id}"] == {"200": 1, "429": 1}
    assert snap["requests_total"] == 3
    assert (snap["rate_limited"], snap["platform_rate_limited"]) == (1, 1)
    assert snap["jobs"] == {"prequeued": 0, "pending": 0, "success": 2, "failure": 0}
    assert snap["entities_created"] == {"invoice": 2}
    assert snap["webhooks"]["delivered"] == 1
    stats.reset()
    assert stats.snapshot({}, {})["requests_total"] == 0
