"""``Batch``: send thousands of requests exactly once, as fast as Rutter's limits allow.

``client.send_many(requests)`` returns at once; the batch runs on a private event loop in a
background thread (so a notebook stays usable, and the kernel's own loop is never touched).
In a notebook it shows a live ``BatchBoard``. Every request gets an Idempotency-Key up front;
with ``journal=path`` the keys are on disk before anything is sent, so after a crash
``Batch.resume(path, client)`` follows the accepted jobs and sends the rest with the same
keys: nothing is sent twice and nothing is lost.

>>> batch = client.send_many(requests, journal="invoices.jsonl")   # doctest: +SKIP
>>> batch.wait()                                                     # doctest: +SKIP
>>> frames = batch.to_frames(entities="invoice")                     # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from rutter_nb import sandbox_hooks
from rutter_nb.batch_scheduler import BatchItem, Scheduler, ThrottledTransport
from rutter_nb.errors import InvalidRequest, RutterError, error_class_for_status
from rutter_nb.journal import Journal, JournalError, JournalState
from rutter_nb.ratelimit import RateLimit, TokenBucket
from rutter_nb.redact import get_logger, redact_url
from rutter_nb.requests import RESPONSE_MODES, ApiRequest
from rutter_nb.webhooks import Receiver

if TYPE_CHECKING:
    import pandas as pd

    from rutter_nb.client import AsyncClient, Client
    from rutter_nb.jobs import Job

__all__ = ["Batch", "BatchTimeout", "Rejected", "send_many"]

_log = get_logger("rutter_nb.batch")
_DEFAULT_CONCURRENCY = {"async": 16, "prefer_sync": 96}


class BatchTimeout(RutterError, TimeoutError):
    """``wait(timeout)`` ran out; the batch goes on in the background."""


@dataclass(frozen=True)
class Rejected:
    """A request the batch could not get accepted, and why (its typed error).

    ``final`` is False when the outcome is unknown or the refusal was temporary (5xx,
    429/452 after every retry): a resumed batch tries those again with the same key.
    """

    index: int
    request: ApiRequest
    error: RutterError
    final: bool = True


# -- requests <-> journal ------------------------------------------------------------------


def _request_record(request: ApiRequest) -> dict[str, Any]:
    """The journal's copy of a request: redacted (the client re-adds credentials)."""
    safe = request.redacted()
    return {
        "method": safe.method,
        "path": safe.path,
        "query": safe.query,
        "body": safe.body,
        "headers": safe.headers,
        "response_mode": safe.response_mode,
        "version": safe.version,
    }


def _request_from_record(record: dict[str, Any], key: str) -> ApiRequest:
    return ApiRequest(
        record["method"],
        record["path"],
        query=record.get("query") or None,
        body=record.get("body"),
        headers=record.get("headers") or None,
        response_mode=record.get("response_mode"),
        idempotency_key=key,
        version=record.get("version"),
    )


def _error_from_record(record: dict[str, Any], request: ApiRequest) -> RutterError:
    status = record.get("http_status")
    cls = error_class_for_status(status) if isinstance(status, int) else RutterError
    return cls(
        http_status=status if isinstance(status, int) else None,
        error_type=record.get("error_type"),
        error_code=record.get("error_code"),
        error_message=record.get("error_message"),
        request=request.redacted(),
    )


def _prepare(requests: Iterable[ApiRequest]) -> list[ApiRequest]:
    """Check every request and give each its own Idempotency-Key (kept if it has one)."""
    if isinstance(requests, ApiRequest | str | bytes | dict):
        raise InvalidRequest("send_many takes a list of ApiRequest objects, not a single one")
    out: list[ApiRequest] = []
    seen: set[str] = set()
    for index, request in enumerate(requests):
        if not isinstance(request, ApiRequest):
            raise InvalidRequest(
                f"request {index} is a {type(request).__name__}, not an ApiRequest "
                "(build requests with rutter_nb.invoice(...), rutter_nb.request(...))"
            )
        if not request.is_write:
            raise InvalidRequest(f"request {index} is a {request.method}: batches send writes")
        key = request.idempotency_key or str(uuid.uuid4())
        if key in seen:
            raise InvalidRequest(
                f"request {index} repeats Idempotency-Key {key!r}: Rutter would replay one job "
                "for both; give each request its own key"
            )
        seen.add(key)
        out.append(request if request.idempotency_key else request.with_idempotency_key(key))
    return out


# -- the private loop ------------------------------------------------------------------------


class _LoopThread:
    """Runs one coroutine on a private event loop in a daemon thread, then closes the loop.

    The kernel's own loop is never used: a cell blocked in ``wait()`` would stall it.
    """

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._name = name
        self._thread: threading.Thread | None = None

    def start(self, coro: Coroutine[Any, Any, None]) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(coro,), name=self._name, daemon=True
        )
        self._thread.start()

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(coro)
        finally:
            try:
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            finally:
                self.loop.close()

    def call_soon(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` on the loop thread, unless the loop is already closed."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(callback)


@dataclass
class _Engine:
    """What a batch sends with: its own AsyncClient over a throttled connection pool."""

    client: AsyncClient
    transport: ThrottledTransport
    bucket: TokenBucket

    @classmethod
    def for_client(
        cls, client: Client | AsyncClient, rate_limit: str | RateLimit, concurrency: int
    ) -> _Engine:
        from rutter_nb.client import AsyncClient

        bucket = TokenBucket(rate_limit)
        inner, owned = _async_transport(client, concurrency)
        transport = ThrottledTransport(inner, bucket, close_inner=owned)
        s = client.settings
        batch_client = AsyncClient(
            s.base_url,
            client_id=s.client_id,
            client_secret=s.client_secret,
            access_token=s.access_token,
            version=s.version,
            timeout=s.timeout,
            max_retries=s.max_retries,
            retry=client.retry_policy,
            poll=client.poll_policy,
            transport=transport,
        )
        return cls(batch_client, transport, bucket)


# -- the batch ---------------------------------------------------------------------------------


class Batch:
    """Many requests sent and followed together; build one with ``client.send_many``.

    ``jobs`` grows as Rutter accepts requests (in acceptance order), ``rejected`` lists the
    requests refused before acceptance with their typed errors, ``total`` is how many jobs
    to expect. ``wait()`` blocks until every job is terminal; ``cancel()`` stops sending
    and polling (accepted jobs go on at Rutter; resume the journal to continue).
    """

    def __init__(
        self,
        engine: _Engine,
        items: list[BatchItem],
        *,
        response_mode: str | None,
        concurrency: int,
        journal: Journal | None,
        receiver: Receiver | None,
        own_receiver: bool,
        webhook_grace: float,
    ) -> None:
        self._items = items
        self.jobs: list[Job] = [i.job for i in items if i.job is not None]
        self.rejected: list[Rejected] = [
            Rejected(i.index, i.request, i.error)
            for i in items
            if i.state == "rejected" and i.error is not None
        ]
        self.response_mode = response_mode
        self.journal_path: Path | None = journal.path if journal is not None else None
        self.receiver = receiver
        self.bucket = engine.bucket
        self.board: Any = None
        """The live board's watch, when one is shown (in a notebook)."""
        self._engine = engine
        self._journal = journal
        self._own_receiver = own_receiver
        self._done = threading.Event()
        self._cancel_requested = False
        self._error: BaseException | None = None
        self._scheduler: Scheduler | None = None
        self._started = time.monotonic()
        self._finished_at: float | None = None
        self._concurrency = concurrency
        self._webhook_grace = webhook_grace
        self._thread = _LoopThread("rutter_nb-batch")
        self._thread.start(self._main())

    # -- the background run ----------------------------------------------------------

    async def _main(self) -> None:
        try:
            self._scheduler = Scheduler(
                self._engine.client,
                self._items,
                response_mode=self.response_mode,
                concurrency=self._concurrency,
                journal=self._journal,
                receiver=self.receiver,
                on_accepted=self._accepted,
                on_rejected=self._rejected,
                webhook_grace=self._webhook_grace,
            )
            if self._cancel_requested:
                self._scheduler.cancel()
            await self._scheduler.run()
        except BaseException as exc:  # surfaced by wait()
            self._error = exc
            _log.exception("batch stopped by an unexpected error")
        finally:
            # Jobs keep the batch's client as their source for a later job.wait() or
            # refresh(), which use its blocking side; only the async pool (bound to this
            # loop) is closed.
            await self._engine.transport.aclose()
            self._finish()

    def _finish(self) -> None:
        if self._journal is not None:
            self._journal.close()
        if self._own_receiver and self.receiver is not None:
            sandbox_hooks.forget_webhook(self._engine.client.settings, self.receiver.url)
            self.receiver.stop()
        self._finished_at = time.monotonic()
        self._done.set()

    def _accepted(self, item: BatchItem) -> None:
        assert item.job is not None
        self.jobs.append(item.job)

    def _rejected(self, item: BatchItem) -> None:
        assert item.error is not None
        self.rejected.append(
            Rejected(item.index, item.request, item.error, final=item.state == "rejected")
        )

    # -- public surface --------------------------------------------------------------

    @property
    def total(self) -> int:
        """How many jobs this batch expects: requests minus those refused (for the board)."""
        if self.finished:
            return len(self.jobs)
        return len(self._items) - len(self.rejected)

    @property
    def finished(self) -> bool:
        """True once the batch stopped: all jobs terminal, or cancelled, or failed."""
        return self._done.is_set()

    @property
    def cancelled(self) -> bool:
        return self._scheduler is not None and self._scheduler.cancelled

    def counts(self) -> dict[str, int]:
        """How many requests are in each state (``unsent``, ``accepted``, ``done``...)."""
        out = {"unsent": 0, "accepted": 0, "done": 0, "rejected": 0, "failed": 0, "lost": 0}
        for item in self._items:
            out[item.state] += 1
        return out

    def stats(self) -> dict[str, Any]:
        """Counts plus HTTP figures: requests sent, 429s received, polls, webhooks used."""
        transport, scheduler = self._engine.transport, self._scheduler
        end = self._finished_at or time.monotonic()
        return {
            **self.counts(),
            "requests": transport.requests,
            "throttled": transport.throttled,
            "polls": scheduler.counts["polls"] if scheduler else 0,
            "webhooks": scheduler.counts["webhooks"] if scheduler else 0,
            "submit_retries": scheduler.counts["submit_retries"] if scheduler else 0,
            "elapsed": end - self._started,
        }

    def wait(self, timeout: float | None = None) -> Batch:
        """Block until the batch is over; Ctrl-C stops waiting (the batch goes on).

        Raises :class:`BatchTimeout` after ``timeout`` seconds, and re-raises an unexpected
        error that stopped the batch.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done.wait(0.2):  # short waits: a kernel interrupt lands quickly
            if deadline is not None and time.monotonic() >= deadline:
                raise BatchTimeout(
                    f"batch still running after {timeout:g}s ({self._progress()}); "
                    "it goes on: wait() again, or cancel()"
                )
        return self._result()

    async def wait_async(self, timeout: float | None = None) -> Batch:
        """``await`` the end of the batch without blocking the caller's event loop."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                raise BatchTimeout(f"batch still running after {timeout:g}s ({self._progress()})")
            await asyncio.sleep(0.05)
        return self._result()

    def _result(self) -> Batch:
        if self._error is not None:
            raise self._error
        return self

    def cancel(self) -> Batch:
        """Stop sending and polling now; returns once the batch has stopped."""
        self._cancel_requested = True
        scheduler = self._scheduler
        if not self._done.is_set() and scheduler is not None:
            self._thread.call_soon(scheduler.cancel)
        self._done.wait(30)
        return self

    def to_frames(self, **options: Any) -> Any:
        """The batch as DataFrames (jobs, errors incl. rejected requests, nested records);
        see :func:`rutter_nb.frames.to_frames` for ``options``."""
        from rutter_nb.frames import to_frames

        return to_frames(self, **options)

    def jobs_frame(self, **options: Any) -> pd.DataFrame:
        """One row per job (see :func:`rutter_nb.frames.jobs_frame`)."""
        from rutter_nb.frames import jobs_frame

        return jobs_frame(self, **options)

    def _progress(self) -> str:
        c = self.counts()
        return (
            f"{c['done']} done, {c['accepted']} running, {c['unsent']} unsent, "
            f"{c['rejected'] + c['failed']} rejected"
        )

    def __repr__(self) -> str:
        state = "cancelled" if self.cancelled else "finished" if self.finished else "running"
        return f"<Batch of {len(self._items)} requests, {state}: {self._progress()}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": repr(self)}

    # -- construction ----------------------------------------------------------------

    @classmethod
    def resume(
        cls,
        path: str | os.PathLike[str],
        client: Client | AsyncClient,
        *,
        concurrency: int | None = None,
        rate_limit: str | RateLimit = "500/10s",
        webhooks: Receiver | bool | None = None,
        display: bool | None = None,
    ) -> Batch:
        """Continue the batch journalled at ``path`` after a restart or a crash.

        Jobs already done are loaded from the journal, accepted ones are followed, and the
        rest are sent with the keys they were given the first time, so Rutter replays any
        that did arrive instead of creating them again.

        >>> batch = rutter_nb.Batch.resume("invoices.jsonl", client)   # doctest: +SKIP
        """
        journal, state = Journal.append_to(path)
        try:
            mode = state.header.get("response_mode")
            mode = mode if mode in RESPONSE_MODES else None
            size = _check_options(mode, concurrency, rate_limit, webhooks)
            engine = _Engine.for_client(client, rate_limit, size)
            items = _items_from_journal(state, client, engine.client)
            return _start(
                engine,
                items,
                response_mode=mode,
                concurrency=size,
                journal=journal,
                webhooks=webhooks,
                display=display,
            )
        except BaseException:
            journal.close()
            raise


def _items_from_journal(
    state: JournalState, client: Client | AsyncClient, source: AsyncClient
) -> list[BatchItem]:
    from rutter_nb.jobs import Job

    header = state.header
    expected = header.get("count")
    if expected != len(state.entries):
        raise JournalError(
            f"the journal lists {len(state.entries)} of {expected} requests: the batch "
            "stopped while writing its plan, before sending anything; start it again"
        )
    base = header.get("base_url")
    if base and base != redact_url(client.base_url):
        raise JournalError(
            f"this journal's batch was sent to {base}, but the client talks to "
            f"{redact_url(client.base_url)}: resuming elsewhere would send everything again"
        )
    items = []
    for entry in sorted(state.entries, key=lambda e: e.index):
        request = _request_from_record(entry.request, entry.key)
        item = BatchItem(entry.index, request)
        if entry.state == "rejected":
            item.state = "rejected"
            item.error = _error_from_record(entry.error or {}, request)
        elif entry.state in ("accepted", "done") and entry.job_id:
            stored = entry.job or {}
            extra = stored.get("client") or {}
            done = entry.state == "done"
            item.job = Job(
                entry.job_id,
                entry.status or "pending",
                request=stored.get("request"),
                response=stored.get("response"),
                api_request=request.redacted(),
                response_mode=header.get("response_mode"),
                submitted_at=_parse_time(extra.get("submitted_at") or entry.submitted_at),
                # the first-seen-terminal time from the journal keeps durations true
                completed_at=_parse_time(extra.get("completed_at")) if done else None,
                sync=bool(extra.get("sync")),
                source=source,
            )
            item.state = "done" if done else "accepted"
        items.append(item)
    return items


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _async_transport(
    client: Client | AsyncClient, concurrency: int
) -> tuple[httpx.AsyncBaseTransport, bool]:
    """The batch's connection pool and whether the batch owns it.

    A real pool is bound to the event loop that uses it, so the batch always makes its own
    (sized for the submits plus the polls in flight); only a stateless test double given
    to an AsyncClient (``httpx.MockTransport``) is borrowed, and never closed.
    """
    custom = getattr(client, "_transport", None)
    if isinstance(custom, httpx.MockTransport):
        return custom, False
    size = concurrency + 40
    pool = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=size, max_keepalive_connections=size)
    )
    return pool, True


def _check_options(
    response_mode: str | None,
    concurrency: int | None,
    rate_limit: str | RateLimit,
    webhooks: Receiver | bool | None,
) -> int:
    """Refuse bad options with typed errors before anything is written or sent."""
    if response_mode is not None and response_mode not in RESPONSE_MODES:
        hint = " (there is no 'sync' mode: use 'prefer_sync')" if response_mode == "sync" else ""
        raise InvalidRequest(
            f"response_mode must be 'async', 'prefer_sync' or None, got {response_mode!r}{hint}"
        )
    RateLimit.parse(rate_limit)
    if webhooks is not None and not isinstance(webhooks, bool | Receiver):
        raise InvalidRequest(
            f"webhooks must be a rutter_nb.webhooks.Receiver, True or None, got {webhooks!r}"
        )
    if concurrency is None:
        return _DEFAULT_CONCURRENCY.get(response_mode or "prefer_sync", 16)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidRequest(f"concurrency must be a positive integer, got {concurrency!r}")
    return concurrency


def _start(
    engine: _Engine,
    items: list[BatchItem],
    *,
    response_mode: str | None,
    concurrency: int,
    journal: Journal | None,
    webhooks: Receiver | bool | None,
    display: bool | None,
    webhook_grace: float = 15.0,
) -> Batch:
    settings = engine.client.settings
    receiver: Receiver | None = None
    own = False
    if webhooks is True:
        receiver, own = Receiver(settings.client_secret), True
    elif isinstance(webhooks, Receiver):
        receiver = webhooks
    if receiver is not None:
        sandbox_hooks.deliver_to(settings, receiver.url)
    batch = Batch(
        engine,
        items,
        response_mode=response_mode,
        concurrency=concurrency,
        journal=journal,
        receiver=receiver,
        own_receiver=own,
        webhook_grace=webhook_grace,
    )
    _maybe_display(batch, display)
    return batch


def _maybe_display(batch: Batch, display: bool | None) -> None:
    """In a notebook, show the live board (when the widgets are importable)."""
    try:
        from rutter_nb.widgets import BatchBoard, in_kernel, watch_board
    except ImportError:
        return
    if display is None:
        display = in_kernel()
    if display:
        batch.board = watch_board(BatchBoard(batch), poll=False)


def send_many(
    client: Client | AsyncClient,
    requests: Iterable[ApiRequest],
    response_mode: str | None = "async",
    *,
    concurrency: int | None = None,
    rate_limit: str | RateLimit = "500/10s",
    journal: str | os.PathLike[str] | None = None,
    webhooks: Receiver | bool | None = None,
    display: bool | None = None,
) -> Batch:
    """Send every request once and follow the jobs; returns the running :class:`Batch`.

    ``concurrency`` bounds submits in flight (default 16 for ``async``, 96 for
    ``prefer_sync``, whose replies wait for the job); ``rate_limit`` is shared by submits and
    polls; ``journal`` makes the batch resumable; ``webhooks`` (a Receiver, or True for one
    made here) replaces polling by deliveries, configuring the sandbox when the client talks
    to one on this machine.
    """
    size = _check_options(response_mode, concurrency, rate_limit, webhooks)
    prepared = _prepare(requests)
    items = [BatchItem(i, r) for i, r in enumerate(prepared)]
    opened: Journal | None = None
    if journal is not None:
        opened = Journal.create(
            journal,
            {
                "count": len(items),
                "response_mode": response_mode,
                "base_url": redact_url(client.base_url),
                "version": client.settings.version,
            },
        )
    try:
        if opened is not None:
            opened.record_requests(
                (i.index, str(i.request.idempotency_key), _request_record(i.request)) for i in items
            )
        engine = _Engine.for_client(client, rate_limit, size)
        return _start(
            engine,
            items,
            response_mode=response_mode,
            concurrency=size,
            journal=opened,
            webhooks=webhooks,
            display=display,
        )
    except BaseException:
        if opened is not None:
            opened.close()
        raise
