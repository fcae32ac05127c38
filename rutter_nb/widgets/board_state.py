"""Incremental statistics over many jobs, so a render costs the rows shown, not the jobs.

Workers and pollers change jobs on their own threads; each change reaches
:meth:`BoardState._changed` (via ``job.on_change``), which moves the job between per-status
buckets and bumps a version number in O(1). A render asks for a :class:`BoardSnapshot`,
which reads counts, a few percentiles from an always-sorted latency list and at most
``max_rows`` jobs, whatever the board's size.
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rutter_nb.redact import scrub
from rutter_nb.widgets.snapshot import RUNNING, TERMINAL, utcnow

__all__ = ["FILTERS", "BoardSnapshot", "BoardState", "Row", "jobs_of"]

FILTERS = ("all", "failure", "running", "success")
"""Status filters offered by the board: failures include partial and unknown statuses."""
_KNOWN = (*TERMINAL, *RUNNING)
_PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0))


@dataclass(frozen=True, slots=True)
class Row:
    """One table row: what is worth knowing about a job at a glance."""

    key: int
    id: str
    status: str
    done: bool
    http_status: int | None
    elapsed: float | None
    entity: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class BoardSnapshot:
    """Everything a board render shows; built in O(rows + statuses)."""

    total: int
    done: int
    counts: dict[str, int]
    elapsed: float | None
    throughput: float | None
    eta: float | None
    percentiles: dict[str, float]
    rows: tuple[Row, ...]
    matching: int
    status_filter: str
    finished: bool


def jobs_of(source: Any) -> Sequence[Any]:
    """The job list behind a board source: a sequence of jobs or anything with ``.jobs``."""
    jobs = getattr(source, "jobs", source)
    if not isinstance(jobs, Sequence) or isinstance(jobs, str | bytes):
        raise TypeError(
            f"a board needs a list of jobs or an object with a .jobs list, not {type(source)!r}"
        )
    return jobs


def _nearest_rank(ordered: list[float], pct: float) -> float:
    return ordered[max(0, math.ceil(pct / 100.0 * len(ordered)) - 1)]


class BoardState:
    """Live counts, latencies and row buckets of a growing list of jobs; thread-safe.

    >>> state = BoardState(jobs)  # doctest: +SKIP
    >>> state.snapshot().counts  # doctest: +SKIP
    {'success': 3, 'failure': 1, 'pending': 6, 'prequeued': 0}
    """

    def __init__(
        self,
        source: Any,
        *,
        max_rows: int = 50,
        total: int | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        self._source = source
        jobs_of(source)  # fail early, with a clear message, on a wrong source
        self._max_rows = max_rows
        self._total = total
        self._clock = clock
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._status: dict[int, str] = {}
        self._jobs: dict[int, Any] = {}
        self._buckets: dict[str, dict[int, Any]] = {s: {} for s in _KNOWN}
        self._latencies: list[float] = []
        self._counted: set[int] = set()
        self._first_submit: datetime | None = None
        self._last_done: datetime | None = None
        self._adopted = 0
        self._unsubscribes: list[Callable[[], None]] = []
        self._closed = False
        self.version = 0
        """Bumped on every change; a view re-renders when it differs from what it drew."""

    # -- intake ---------------------------------------------------------------------------
    def sync(self) -> int:
        """Adopt jobs appended to the source since the last call (O(new jobs)); return how many."""
        with self._sync_lock:
            jobs = jobs_of(self._source)
            start, end = self._adopted, len(jobs)
            if end <= start or self._closed:
                return 0
            for job in itertools.islice(jobs, start, end):
                self._adopt(job)
            self._adopted = end
            return end - start

    def _adopt(self, job: Any) -> None:
        key = id(job)
        if key in self._jobs:
            return
        with self._lock:
            self._jobs[key] = job
        on_change = getattr(job, "on_change", None)
        if callable(on_change):
            self._unsubscribes.append(on_change(self._changed))
        self._changed(job)

    def _changed(self, job: Any) -> None:
        """``job.on_change`` callback: O(1) (plus one sorted insert when a job finishes)."""
        key = id(job)
        status = str(getattr(job, "status", "") or "unknown")
        submitted = getattr(job, "submitted_at", None)
        done = bool(getattr(job, "done", False)) or status not in RUNNING
        with self._lock:
            if key not in self._jobs:
                return
            old = self._status.get(key)
            if old != status:
                if old is not None:
                    self._buckets[old].pop(key, None)
                self._buckets.setdefault(status, {})[key] = job
                self._status[key] = status
            if isinstance(submitted, datetime) and (
                self._first_submit is None or submitted < self._first_submit
            ):
                self._first_submit = submitted
            if done and key not in self._counted:
                self._counted.add(key)
                finished_at = getattr(job, "completed_at", None)
                if not isinstance(finished_at, datetime):
                    finished_at = self._clock()
                if self._last_done is None or finished_at > self._last_done:
                    self._last_done = finished_at
                duration = getattr(job, "duration", None)
                if isinstance(duration, int | float):
                    bisect.insort(self._latencies, float(duration))
            self.version += 1

    def close(self) -> None:
        """Stop listening to the jobs (the board is finished or stopped)."""
        self._closed = True
        unsubscribes, self._unsubscribes = self._unsubscribes, []
        for unsubscribe in unsubscribes:
            unsubscribe()

    # -- reading --------------------------------------------------------------------------
    def finished(self) -> bool:
        """True when every expected job is terminal, or the source says it finished.

        A batch that was cancelled or failed never reaches its total; its own
        ``finished`` flag ends the board then. O(new jobs).
        """
        self.sync()
        if getattr(self._source, "finished", None) is True:
            return True
        with self._lock:
            total = max(len(self._status), self._total or 0, self._expected_total())
            return total > 0 and len(self._counted) >= total

    def running_jobs(self) -> list[Any]:
        """The jobs still in flight (for a poller); O(running)."""
        with self._lock:
            return [j for s in RUNNING for j in self._buckets[s].values()]

    def _keys_for(self, status_filter: str) -> tuple[Iterator[tuple[int, Any]], int]:
        b = self._buckets
        failed = [s for s in b if s not in ("success", *RUNNING)]
        groups: dict[str, list[Iterable[tuple[int, Any]]]] = {
            "failure": [b[s].items() for s in failed],
            "running": [b["pending"].items(), b["prequeued"].items()],
            "success": [reversed(b["success"].items())],
        }
        groups["all"] = [*groups["failure"], *groups["running"], *groups["success"]]
        if status_filter not in groups:
            raise ValueError(f"unknown status filter {status_filter!r}; use one of {FILTERS}")
        matching = {
            "failure": sum(len(b[s]) for s in failed),
            "running": len(b["pending"]) + len(b["prequeued"]),
            "success": len(b["success"]),
            "all": len(self._status),
        }[status_filter]
        return itertools.chain.from_iterable(groups[status_filter]), matching

    def _row(self, key: int, job: Any, now: datetime) -> Row:
        status = self._status[key]
        duration = getattr(job, "duration", None)
        submitted = getattr(job, "submitted_at", None)
        elapsed: float | None = None
        if isinstance(duration, int | float):
            elapsed = float(duration)
        elif isinstance(submitted, datetime):
            elapsed = max(0.0, (now - submitted).total_seconds())
        error = getattr(job, "error", None)
        error_text = None
        if error is not None:
            error_text = scrub(str(getattr(error, "error_code", None) or type(error).__name__))
        http = getattr(job, "http_status", None)
        return Row(
            key=key,
            id=str(getattr(job, "id", "") or ""),
            status=status,
            done=status not in RUNNING,
            http_status=http if isinstance(http, int) else None,
            elapsed=elapsed,
            entity=getattr(job, "entity", None),
            error=error_text,
        )

    def job(self, key: int) -> Any:
        """The job behind a row key (for opening its view)."""
        with self._lock:
            return self._jobs[key]

    def snapshot(self, status_filter: str = "all") -> BoardSnapshot:
        """Counts, rates, percentiles and at most ``max_rows`` rows, in O(rows)."""
        now = self._clock()
        with self._lock:
            counts = {s: len(self._buckets[s]) for s in _KNOWN}
            counts.update({s: len(b) for s, b in self._buckets.items() if s not in counts})
            seen = len(self._status)
            total = max(seen, self._total or 0, self._expected_total())
            done = len(self._counted)
            items, matching = self._keys_for(status_filter)
            rows = tuple(self._row(k, j, now) for k, j in itertools.islice(items, self._max_rows))
            latencies = self._latencies
            percentiles = (
                {name: _nearest_rank(latencies, p) for name, p in _PERCENTILES}
                | {"max": latencies[-1]}
                if latencies
                else {}
            )
            first, last = self._first_submit, self._last_done
        finished = total > 0 and done >= total
        end = last if finished and last is not None else now
        elapsed = (end - first).total_seconds() if first is not None else None
        throughput = done / elapsed if elapsed and elapsed > 0 and done else None
        eta = (total - done) / throughput if throughput and not finished else None
        return BoardSnapshot(
            total=total,
            done=done,
            counts=counts,
            elapsed=max(0.0, elapsed) if elapsed is not None else None,
            throughput=throughput,
            eta=eta,
            percentiles=percentiles,
            rows=rows,
            matching=matching,
            status_filter=status_filter,
            finished=finished,
        )

    def _expected_total(self) -> int:
        total = getattr(self._source, "total", None)
        return total if isinstance(total, int) else 0
