"""Shared pieces of the reliability scenarios: the scale knob and the figures report.

Every scenario asserts its own counts (lost, duplicated, leaked, 5xx) and also records them
as one row of the figures table that ``benchmarks/reliability.py`` prints. Rows go to the
JSON-lines file named by ``RUTTER_NB_RELIABILITY_REPORT`` (nowhere when it is unset).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

SCALE_ENV = "RUTTER_NB_RELIABILITY_SCALE"
REPORT_ENV = "RUTTER_NB_RELIABILITY_REPORT"


def full_scale() -> bool:
    """True under ``RUTTER_NB_RELIABILITY_SCALE=full`` (``make reliability``)."""
    return os.environ.get(SCALE_ENV, "").strip().lower() == "full"


def sized(small: int, full: int) -> int:
    """``small`` for ``make test``, ``full`` for ``make reliability``."""
    return full if full_scale() else small


@dataclass(frozen=True)
class Row:
    """One line of the figures table."""

    scenario: str
    requests: int
    lost: int
    duplicated: int
    leaked: int
    server_errors: int
    notes: str = ""


def record(row: Row) -> Row:
    """Append ``row`` to the report file, if one was asked for; returns the row."""
    target = os.environ.get(REPORT_ENV)
    if target:
        with Path(target).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(row)) + "\n")
    return row


def server_errors(stats: dict[str, object], route_part: str = " /versioned/") -> int:
    """5xx replies the sandbox counted on routes containing ``route_part``."""
    requests = stats["requests"]
    assert isinstance(requests, dict)
    return sum(
        n
        for route, codes in requests.items()
        if route_part in route
        for code, n in codes.items()
        if int(code) >= 500
    )


def terminal_jobs(stats: dict[str, object]) -> int:
    """Jobs the sandbox holds in a terminal state."""
    jobs = stats["jobs"]
    assert isinstance(jobs, dict)
    return int(jobs["success"]) + int(jobs["failure"])


def all_jobs(stats: dict[str, object]) -> int:
    """Every job the sandbox holds, whatever its state."""
    jobs = stats["jobs"]
    assert isinstance(jobs, dict)
    return sum(int(n) for n in jobs.values())


ERROR_KEYS = {"error_type", "error_code", "error_message"}


def is_error_triple(payload: object) -> bool:
    """True when ``payload`` is exactly Rutter's error object (three strings)."""
    return (
        isinstance(payload, dict)
        and set(payload) == ERROR_KEYS
        and all(isinstance(v, str) and v for v in payload.values())
    )
