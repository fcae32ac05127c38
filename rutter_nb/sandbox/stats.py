"""In-memory counters behind `GET /_sandbox/stats` (requests, 429s, webhook deliveries)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any


class Stats:
    """Counters touched only from the server's event loop; reset with the sandbox."""

    def __init__(self) -> None:
        self.requests: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self.rate_limited = 0
        self.platform_limited = 0
        self.faults: Counter[str] = Counter()
        self.webhooks: Counter[str] = Counter()

    def count_request(self, route: str, status: int) -> None:
        """One reply sent on `route` (e.g. `POST /versioned/accounting/invoices`)."""
        self.requests[route][status] += 1
        if status == 429:
            self.rate_limited += 1
        elif status == 452:
            self.platform_limited += 1

    def reset(self) -> None:
        """Forget everything counted so far."""
        self.__init__()  # type: ignore[misc]

    def snapshot(self, jobs: dict[str, int], entities: dict[str, int]) -> dict[str, Any]:
        """The JSON document served by `GET /_sandbox/stats`."""
        return {
            "requests": {
                route: {str(code): n for code, n in sorted(codes.items())}
                for route, codes in sorted(self.requests.items())
            },
            "requests_total": sum(sum(c.values()) for c in self.requests.values()),
            "rate_limited": self.rate_limited,
            "platform_rate_limited": self.platform_limited,
            "faults": dict(self.faults),
            "jobs": {s: jobs.get(s, 0) for s in ("prequeued", "pending", "success", "failure")},
            "entities_created": entities,
            "webhooks": {
                k: self.webhooks.get(k, 0) for k in ("attempts", "delivered", "retries", "failed")
            },
        }
