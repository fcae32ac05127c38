"""A frozen, redacted picture of one job: the only thing the renderers ever read.

Reading a job once into a snapshot keeps rendering free of locks and races (the job may
change on another thread mid-render) and is the single place where bodies and URLs are
passed through :mod:`rutter_nb.redact`, so no renderer can leak a secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from rutter_nb.redact import redact_body, redact_url, scrub

__all__ = ["RUNNING", "TERMINAL", "JobLike", "JobSnapshot", "snapshot", "utcnow"]

RUNNING = ("prequeued", "pending")
"""Statuses of a job that is still in flight."""
TERMINAL = ("success", "failure", "partial_success")
"""Statuses Rutter documents as final."""


class JobLike(Protocol):
    """The attributes of :class:`rutter_nb.jobs.Job` the widgets read (see architecture.md)."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def done(self) -> bool: ...
    @property
    def polls(self) -> int: ...
    @property
    def http_status(self) -> int | None: ...
    @property
    def submitted_at(self) -> datetime | None: ...
    @property
    def duration(self) -> float | None: ...

    def on_change(self, callback: Callable[[Any], None]) -> Callable[[], None]: ...


def utcnow() -> datetime:
    """The wall clock the views use (a function so tests can pin it)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    """What a view shows of a job at one instant; every field already redacted."""

    id: str
    status: str
    done: bool
    entity: str | None
    method: str | None
    url: str | None
    http_status: int | None
    polls: int
    elapsed: float | None
    request_body: Any
    response_body: Any
    error: str | None


def _elapsed(job: Any, now: datetime) -> float | None:
    duration = getattr(job, "duration", None)
    if isinstance(duration, int | float):
        return float(duration)
    submitted = getattr(job, "submitted_at", None)
    if isinstance(submitted, datetime):
        return max(0.0, (now - submitted).total_seconds())
    return None


def _error_text(job: Any) -> str | None:
    error = getattr(job, "error", None)
    if error is None:
        return None
    kind = getattr(error, "error_type", None) or type(error).__name__
    code = getattr(error, "error_code", None)
    return scrub(f"{kind}: {code}" if code else str(kind))


def snapshot(job: Any, now: datetime | None = None) -> JobSnapshot:
    """Read ``job`` once into a redacted :class:`JobSnapshot`.

    >>> snapshot(job).status  # doctest: +SKIP
    'pending'
    """
    request = getattr(job, "request", None) or {}
    response = getattr(job, "response", None) or {}
    if not isinstance(request, dict):
        request = {}
    if not isinstance(response, dict):
        response = {}
    url = request.get("url")
    status = str(getattr(job, "status", "") or "unknown")
    http_status = getattr(job, "http_status", None)
    if http_status is None:
        http_status = response.get("http_status")
    return JobSnapshot(
        id=str(getattr(job, "id", "") or ""),
        status=status,
        done=bool(getattr(job, "done", False)) or status not in RUNNING,
        entity=getattr(job, "entity", None),
        method=request.get("method"),
        url=redact_url(url) if isinstance(url, str) else None,
        http_status=http_status if isinstance(http_status, int) else None,
        polls=int(getattr(job, "polls", 0) or 0),
        elapsed=_elapsed(job, now or utcnow()),
        request_body=redact_body(request.get("body")),
        response_body=redact_body(response.get("body")) if response else None,
        error=_error_text(job),
    )
