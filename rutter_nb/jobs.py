"""`Job`: the one type callers handle, whether Rutter answered at once or asynchronously.

A job is thread-safe: pollers, webhook receivers and widgets may update or read it from
other threads. ``wait()`` blocks with plain ``time.sleep`` and a sync HTTP client, so it
needs no event loop and works in scripts and in a Jupyter kernel whose loop is running;
Ctrl-C interrupts it between two reads and leaves the job untouched and resumable.
``await job.wait_async()`` is the same loop for async code.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from rutter_nb.errors import (
    InvalidRequest,
    JobTimeout,
    RutterError,
    UnknownJobStatus,
)
from rutter_nb.polling import KNOWN_STATUSES, TERMINAL_STATUSES, Deadline, PollPolicy
from rutter_nb.protocol import JobState, error_from_body
from rutter_nb.redact import get_logger, redact_url

if TYPE_CHECKING:
    from rutter_nb.requests import ApiRequest

__all__ = ["TOKEN_VERSION", "Job", "JobSource"]

TOKEN_VERSION = 1
_log = get_logger("rutter_nb.jobs")


class _Default:
    def __repr__(self) -> str:
        return "<policy default>"


_DEFAULT: Any = _Default()

# How far along a status is; terminal and unknown statuses rank last.
_PROGRESS = {"prequeued": 0, "pending": 1}


def _progress(status: str) -> int:
    return _PROGRESS.get(status, 2)


class JobSource(Protocol):
    """What a job needs from the client that made it: one read of ``GET /jobs/:id``."""

    @property
    def base_url(self) -> str: ...

    @property
    def poll_policy(self) -> PollPolicy: ...

    def fetch_job(self, job_id: str, *, timeout: float | None = None) -> JobState: ...

    async def afetch_job(self, job_id: str, *, timeout: float | None = None) -> JobState: ...


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Job:
    """One Rutter job. Read attributes freely; they change only under the job's lock."""

    def __init__(
        self,
        job_id: str,
        status: str,
        *,
        request: dict[str, Any] | None = None,
        response: dict[str, Any] | None = None,
        sync: bool = False,
        replayed: bool = False,
        api_request: ApiRequest | None = None,
        response_mode: str | None = None,
        entity: str | None = None,
        submitted_at: dt.datetime | None = None,
        completed_at: dt.datetime | None = None,
        attempts: int = 0,
        source: JobSource | None = None,
        local: bool = False,
    ) -> None:
        self._lock = threading.RLock()
        self._listeners: list[Callable[[Job], None]] = []
        self._id = job_id
        self._status = status
        self._request: dict[str, Any] = dict(request or {})
        self._response = response
        self._sync = sync
        self._replayed = replayed
        self._api_request = api_request
        self._response_mode = response_mode
        self._entity = (
            entity if entity is not None else (api_request.entity if api_request else None)
        )
        self._submitted_at = submitted_at
        self._completed_at = completed_at
        if completed_at is None and status in TERMINAL_STATUSES:
            self._completed_at = _now()
        self._polls = 0
        self._attempts = attempts
        self._source = source
        self._local = local  # a sync reply without X-Rutter-Job-ID: nothing to poll
        self._error_cache: tuple[Any, RutterError | None] | None = None

    # -- attributes (see the contract table in docs/architecture.md) --------------------
    @property
    def id(self) -> str:
        return self._id

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def done(self) -> bool:
        """True once the status is terminal (success, failure, partial_success)."""
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "success"

    @property
    def sync(self) -> bool:
        """True when Rutter answered synchronously (no polling was needed)."""
        return self._sync

    @property
    def replayed(self) -> bool:
        """True when the reply was a replay of an earlier call with the same key."""
        with self._lock:
            return self._replayed

    @property
    def request(self) -> dict[str, Any]:
        """The AsynchronousJob ``request`` (method, url, body, idempotency_key), redacted."""
        with self._lock:
            return json.loads(json.dumps(self._request))  # type: ignore[no-any-return]

    @property
    def api_request(self) -> ApiRequest | None:
        """The :class:`ApiRequest` this job was submitted from (None for fetched jobs)."""
        return self._api_request

    @property
    def response(self) -> dict[str, Any] | None:
        """The AsynchronousJob ``response`` (http_status, body) once finished."""
        with self._lock:
            return None if self._response is None else json.loads(json.dumps(self._response))

    @property
    def http_status(self) -> int | None:
        with self._lock:
            if self._response is None:
                return None
            status = self._response.get("http_status")
            return int(status) if isinstance(status, int | float) else None

    @property
    def result(self) -> Any:
        """The response body on success (and partial success); None otherwise."""
        with self._lock:
            if self._status not in ("success", "partial_success") or self._response is None:
                return None
            return self._response.get("body")

    @property
    def error(self) -> RutterError | None:
        """The typed error of a failed job (built from the job's response), else None."""
        with self._lock:
            if self._status not in ("failure", "partial_success"):
                return None
            key = (self._status, json.dumps(self._response, sort_keys=True, default=str))
            if self._error_cache is not None and self._error_cache[0] == key:
                return self._error_cache[1]
            error = self._build_error()
            self._error_cache = (key, error)
            return error

    def _build_error(self) -> RutterError | None:
        response = self._response or {}
        status = response.get("http_status")
        req = self._api_request.redacted() if self._api_request else None
        if self._status == "partial_success" and not (isinstance(status, int) and status >= 400):
            return None
        if not isinstance(status, int | float):
            return RutterError(f"job {self._id} failed without a response", request=req)
        return error_from_body(int(status), response.get("body"), req)

    @property
    def response_mode(self) -> str | None:
        return self._response_mode

    @property
    def entity(self) -> str | None:
        return self._entity

    @property
    def submitted_at(self) -> dt.datetime | None:
        return self._submitted_at

    @property
    def completed_at(self) -> dt.datetime | None:
        """When this client first saw the job terminal (its own clock, UTC)."""
        with self._lock:
            return self._completed_at

    @property
    def duration(self) -> float | None:
        """Seconds from submission to first seen terminal."""
        with self._lock:
            if self._submitted_at is None or self._completed_at is None:
                return None
            return max(0.0, (self._completed_at - self._submitted_at).total_seconds())

    @property
    def polls(self) -> int:
        """How many times ``GET /jobs/:id`` was read for this job."""
        with self._lock:
            return self._polls

    @property
    def attempts(self) -> int:
        """HTTP attempts the submit took (more than 1 means it was retried)."""
        return self._attempts

    # -- change notification ------------------------------------------------------------
    def on_change(self, callback: Callable[[Job], None]) -> Callable[[], None]:
        """Call ``callback(job)`` after every state change; returns an unsubscribe."""
        with self._lock:
            self._listeners.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return unsubscribe

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback(self)
            except Exception:  # a broken view must never break the job
                _log.exception("rutter_nb: on_change callback failed for job %s", self._id)

    def apply(self, state: JobState) -> bool:
        """Fold one reading of the job into this object; True when something changed.

        Public so that pollers and webhook receivers update jobs the same way. A job never
        moves backwards: a late or replayed reading (``pending`` after ``success``, a second
        webhook delivery) is ignored, so whichever of poll and webhook arrives first wins.
        """
        if state.id != self._id:
            raise InvalidRequest(f"state of job {state.id} applied to job {self._id}")
        with self._lock:
            if self._status in TERMINAL_STATUSES or _progress(state.status) < _progress(
                self._status
            ):
                return False
            before = (self._status, self._response, self._request)
            self._status = state.status
            if state.response is not None:
                self._response = state.response
            if state.request:
                merged = dict(self._request)
                merged.update(state.request)
                self._request = merged
            if self._submitted_at is None and state.created_at:
                self._submitted_at = _parse_time(state.created_at)
            if state.status in TERMINAL_STATUSES and self._completed_at is None:
                self._completed_at = _now()
            changed = before != (self._status, self._response, self._request)
        if changed:
            self._notify()
        return changed

    def _count_poll(self) -> None:
        with self._lock:
            self._polls += 1
        self._notify()

    def _require_source(self) -> JobSource:
        if self._source is None:
            raise InvalidRequest(
                f"job {self._id} has no client to poll with; use client.resume(job.to_token())"
            )
        return self._source

    def _check_known(self) -> None:
        status = self.status
        if status not in KNOWN_STATUSES:
            raise UnknownJobStatus(
                f"job {self._id} has status {status!r}, which this client does not know; "
                "stopped polling instead of waiting forever",
                status=status,
                job=self,
            )

    # -- reading and waiting --------------------------------------------------------------
    def refresh(self) -> Job:
        """Read the job once from the server (a no-op for a local synchronous reply)."""
        if self._local:
            return self
        state = self._require_source().fetch_job(self._id)
        self._count_poll()
        self.apply(state)
        return self

    async def refresh_async(self) -> Job:
        """Async :meth:`refresh`."""
        if self._local:
            return self
        state = await self._require_source().afetch_job(self._id)
        self._count_poll()
        self.apply(state)
        return self

    def _deadline(self, timeout: Any) -> Deadline:
        if timeout is _DEFAULT:
            source = self._source
            timeout = source.poll_policy.timeout if source is not None else None
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0
        ):
            raise InvalidRequest(
                f"timeout must be a number of seconds >= 0 or None, got {timeout!r}"
            )
        return Deadline(timeout)

    def _timeout_error(self, deadline: Deadline) -> JobTimeout:
        return JobTimeout(
            f"job {self._id} still {self.status!r} after {deadline.timeout:g}s "
            "(it goes on; wait() again or resume later from job.to_token())",
            job=self,
        )

    def wait(self, timeout: float | None = _DEFAULT) -> Job:
        """Poll until the job is terminal and return it (success or failure alike).

        ``timeout`` defaults to the client's poll policy (bounded); ``None`` waits without
        limit. Raises :class:`JobTimeout` (the job stays usable) or
        :class:`UnknownJobStatus`. Ctrl-C stops the wait at once; wait again later.
        """
        deadline = self._deadline(timeout)
        polls = 0
        while True:
            self._check_known()
            if self.done:
                return self
            if deadline.expired:
                raise self._timeout_error(deadline)
            source = self._require_source()
            state = source.fetch_job(self._id, timeout=deadline.remaining())
            self._count_poll()
            self.apply(state)
            self._check_known()
            if self.done:
                return self
            delay = deadline.clamp(source.poll_policy.interval(polls, state.retry_after))
            polls += 1
            if deadline.expired:
                raise self._timeout_error(deadline)
            time.sleep(delay)  # interruptible by Ctrl-C / kernel interrupt

    async def wait_async(self, timeout: float | None = _DEFAULT) -> Job:
        """``await`` until terminal; same rules as :meth:`wait`. Cancelling leaves the job
        untouched."""
        deadline = self._deadline(timeout)
        polls = 0
        while True:
            self._check_known()
            if self.done:
                return self
            if deadline.expired:
                raise self._timeout_error(deadline)
            source = self._require_source()
            state = await source.afetch_job(self._id, timeout=deadline.remaining())
            self._count_poll()
            self.apply(state)
            self._check_known()
            if self.done:
                return self
            delay = deadline.clamp(source.poll_policy.interval(polls, state.retry_after))
            polls += 1
            if deadline.expired:
                raise self._timeout_error(deadline)
            await asyncio.sleep(delay)

    def raise_for_error(self) -> Job:
        """Raise the job's typed error if it failed; return the job otherwise."""
        error = self.error
        if error is not None:
            raise error
        return self

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The AsynchronousJob JSON plus a ``"client"`` object of client-side fields."""
        with self._lock:
            out = self._snapshot()
            out["request"] = json.loads(json.dumps(out["request"]))
            if "response" in out:
                out["response"] = json.loads(json.dumps(out["response"]))
            return out

    def _snapshot(self) -> dict[str, Any]:
        """``to_dict()`` without its deep copies, for internal readers that only read.

        One consistent reading under the lock, as ``to_dict()``; but ``request`` and
        ``response`` are the job's own dicts, shared: safe because the job never changes
        them in place (``apply`` replaces them), so callers must never mutate them. Reading
        100k jobs for a DataFrame through ``to_dict()`` spent most of its time copying.
        """
        with self._lock:
            out: dict[str, Any] = {"id": self._id, "status": self._status}
            out["request"] = self._request
            if self._response is not None:
                out["response"] = self._response
            error = self.error
            submitted, completed = self._submitted_at, self._completed_at
            out["client"] = {
                "sync": self._sync,
                "replayed": self._replayed,
                "response_mode": self._response_mode,
                "entity": self._entity,
                "submitted_at": submitted.isoformat() if submitted else None,
                "completed_at": completed.isoformat() if completed else None,
                "duration": self.duration,
                "polls": self._polls,
                "attempts": self._attempts,
                "error": error.to_dict() if error is not None else None,
            }
            return out

    def to_token(self) -> str:
        """A small versioned JSON string to resume this job later (``client.resume``).

        It holds the job id, where it lives and client-side facts; never a secret.
        """
        source = self._source
        with self._lock:
            data: dict[str, Any] = {
                "rutter_nb_job": TOKEN_VERSION,
                "id": self._id,
                "base_url": redact_url(source.base_url) if source is not None else None,
                "entity": self._entity,
                "response_mode": self._response_mode,
                "submitted_at": self._submitted_at.isoformat() if self._submitted_at else None,
                "sync": self._sync,
                "local": self._local,
            }
            if self._local:  # nothing to fetch later: keep the (small) outcome itself
                data["status"] = self._status
                data["http_status"] = self.http_status
            if self._request.get("idempotency_key"):
                data["idempotency_key"] = self._request["idempotency_key"]
        return json.dumps(data, separators=(",", ":"))

    # -- display ------------------------------------------------------------------------
    def __repr__(self) -> str:
        with self._lock:
            bits = [f"id={self._id!r}", f"status={self._status!r}"]
            if self._entity:
                bits.append(f"entity={self._entity!r}")
            if self._sync:
                bits.append("sync=True")
            if self._replayed:
                bits.append("replayed=True")
            status = self.http_status
            if status is not None:
                bits.append(f"http_status={status}")
            bits.append(f"polls={self._polls}")
        return f"Job({', '.join(bits)})"

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, Any] | tuple[dict[str, Any], dict[str, Any]]:
        """Rich display by :mod:`rutter_nb.widgets`; plain text when widgets are missing."""
        try:
            import rutter_nb.widgets as widgets

            render = widgets.job_mimebundle
        except (ImportError, AttributeError):
            return {"text/plain": repr(self)}
        bundle: dict[str, Any] | tuple[dict[str, Any], dict[str, Any]] = render(
            self, include=include, exclude=exclude
        )
        return bundle

    def watch(self) -> Any:
        """A live view of this job (see :mod:`rutter_nb.widgets`)."""
        import rutter_nb.widgets as widgets

        return widgets.watch_job(self)


def job_from_token(token: str) -> dict[str, Any]:
    """Parse and check a token from :meth:`Job.to_token` (never unpickles anything)."""
    if not isinstance(token, str):
        raise InvalidRequest(f"a job token is a JSON string, got {type(token).__name__}")
    try:
        data = json.loads(token)
    except (ValueError, RecursionError):  # also huge integers, deep nesting
        raise InvalidRequest("not a rutter_nb job token (invalid JSON)") from None
    if not isinstance(data, dict) or "rutter_nb_job" not in data:
        raise InvalidRequest("not a rutter_nb job token")
    if data["rutter_nb_job"] != TOKEN_VERSION:
        raise InvalidRequest(
            f"job token version {data['rutter_nb_job']!r} is not supported "
            f"(this rutter_nb reads version {TOKEN_VERSION})"
        )
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise InvalidRequest("job token without a job id")
    return data
