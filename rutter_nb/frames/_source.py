"""Accept every kind of job input and reduce it to one shape: the AsynchronousJob dict.

Inputs: ``Job`` objects (``rutter_nb.jobs.Job`` through its private ``_snapshot()``, other
job-like objects through ``to_dict()``, else the attributes fixed in docs/architecture.md),
job dicts (``GET /jobs/:id`` JSON, optionally with the ``"client"``
block of ``Job.to_dict()``), ``JOB_COMPLETED`` webhook payloads, and batches (anything with
``.jobs``, and optionally ``.rejected`` items carrying ``.request`` and ``.error``).
Reducing everything to plain dicts first lets one fast reader serve every input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import repeat
from typing import Any

from rutter_nb.frames import _native
from rutter_nb.jobs import Job

__all__ = ["EMPTY", "JobsInput", "job_dicts", "rejected_dicts"]

EMPTY: dict[str, Any] = {}
"""Stands in for a missing or non-dict object so lookups need no type checks (never mutated)."""

JobsInput = Any
"""A list/iterable of jobs, job dicts or webhook payloads, or a batch with ``.jobs``."""

_CLIENT_ATTRS = (
    "sync",
    "replayed",
    "response_mode",
    "entity",
    "submitted_at",
    "completed_at",
    "duration",
    "polls",
    "attempts",
)


def _error_dict(error: Any) -> dict[str, Any] | None:
    if error is None:
        return None
    if isinstance(error, Mapping):
        return dict(error)
    return {
        "http_status": getattr(error, "http_status", None),
        "error_type": getattr(error, "error_type", None),
        "error_code": getattr(error, "error_code", None),
        "error_message": getattr(error, "error_message", None),
    }


def _from_object(job: Any) -> dict[str, Any]:
    """A Job as an AsynchronousJob dict, from one consistent reading taken under its lock.

    A ``rutter_nb`` Job gives its ``_snapshot()``: the ``to_dict()`` shape without the deep
    copies (~120 us a job), sharing the job's own request and response, which the frames
    only read. Their list cells (e.g. ``request.invoice.line_items``) are therefore the
    job's own lists, as ``Job.result`` is the job's own body. Other job-like objects give
    their ``to_dict()``, else their contract attributes read one by one.
    """
    if isinstance(job, Job):
        return job._snapshot()
    to_dict = getattr(job, "to_dict", None)
    if callable(to_dict):
        data = to_dict()
        if isinstance(data, dict):
            return data
    client = {name: getattr(job, name, None) for name in _CLIENT_ATTRS}
    client["error"] = _error_dict(getattr(job, "error", None))
    return {
        "id": getattr(job, "id", None),
        "status": getattr(job, "status", None),
        "request": getattr(job, "request", None),
        "response": getattr(job, "response", None),
        "client": client,
    }


def _is_job_object(item: Any) -> bool:
    return hasattr(item, "status") and hasattr(item, "request") and hasattr(item, "id")


def _items(jobs: JobsInput) -> Iterable[Any]:
    if jobs is None:
        raise TypeError(
            "expected a list of jobs, job dicts or webhook payloads, or a batch; got None"
        )
    if hasattr(jobs, "jobs") and not isinstance(jobs, list | tuple | Mapping):
        return _items(jobs.jobs)
    if isinstance(jobs, str | bytes | Mapping) or _is_job_object(jobs):
        raise TypeError(
            f"expected a list of jobs or a batch, got a single {type(jobs).__name__}; "
            "wrap it in a list"
        )
    if not isinstance(jobs, Iterable):
        raise TypeError(
            "expected a list of jobs, job dicts or webhook payloads, or a batch; "
            f"got {type(jobs).__name__}"
        )
    return jobs


def _plain_unique(items: list[Any]) -> bool:
    """True for the usual case: plain job dicts (no webhooks), each id once.

    One pass of the C reader when it is compiled; else C-level ``map``/``set`` passes, as
    fast as one generator but each check in C.
    """
    plain = _native.plain_rows(items)
    if plain is not None:
        return plain
    if set(map(type, items)) != {dict}:
        return False
    ids = list(map(dict.get, items, repeat("id")))
    if set(map(type, ids)) != {str} or len(set(ids)) != len(ids):
        return False
    return not any(map(dict.__contains__, items, repeat("type")))


def job_dicts(jobs: JobsInput) -> list[dict[str, Any]]:
    """Every job of the input as an AsynchronousJob dict, the last copy of each id kept.

    A webhook can be delivered twice and a job can be listed twice (pending, then done):
    the frame holds one row per job id, its latest state, at its first position.
    """
    items = _items(jobs)
    if isinstance(items, list) and _plain_unique(items):
        return items
    out: list[dict[str, Any]] = []
    positions: dict[Any, int] = {}
    for n, item in enumerate(items):
        if isinstance(item, dict):
            job = item if type(item) is dict else dict(item)  # the reader reads plain dicts
            if job.get("type") == "JOB" and "job" in job:
                inner = job["job"]
                job = EMPTY if not isinstance(inner, dict) else inner
                if type(job) is not dict:
                    job = dict(job)
            elif "type" in job and "code" in job and "id" not in job:
                raise ValueError(
                    f"item {n} is a {job.get('type')!s}/{job.get('code')!s} webhook, "
                    "not a JOB event"
                )
        elif isinstance(item, Job):
            job = item._snapshot()
        elif isinstance(item, Mapping):
            job = dict(item)
        elif _is_job_object(item):
            job = _from_object(item)
        else:
            raise TypeError(
                f"item {n} is a {type(item).__name__}: expected a Job, an AsynchronousJob "
                "dict or a JOB_COMPLETED webhook payload"
            )
        key = job.get("id")
        if isinstance(key, str):
            seen = positions.get(key)
            if seen is not None:
                out[seen] = job
                continue
            positions[key] = len(out)
        out.append(job)
    return out


def _attr_or_key(item: Any, name: str) -> Any:
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)


def rejected_dicts(jobs: JobsInput) -> list[dict[str, Any]]:
    """A batch's rejected requests (never accepted, so no job) in the job dict shape."""
    if isinstance(jobs, list | tuple) or not hasattr(jobs, "rejected"):
        return []
    out: list[dict[str, Any]] = []
    for item in jobs.rejected or ():
        request = _attr_or_key(item, "request")
        error = _error_dict(_attr_or_key(item, "error")) or {}
        out.append(
            {
                "id": None,
                "status": None,
                "request": {
                    "method": _attr_or_key(request, "method"),
                    "url": _attr_or_key(request, "path") or _attr_or_key(request, "url"),
                    "body": _attr_or_key(request, "body"),
                    "idempotency_key": _attr_or_key(request, "idempotency_key"),
                },
                "response": None,
                "client": {
                    "entity": _attr_or_key(request, "entity"),
                    "response_mode": _attr_or_key(request, "response_mode"),
                    "error": error,
                },
            }
        )
    return out
