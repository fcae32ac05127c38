"""The engine behind :class:`rutter_nb.Batch`: submit, poll and listen on one asyncio loop.

One scheduler per batch. Submits run in ``concurrency`` worker tasks; polls come off one
heap ordered by next-due time; webhook deliveries arrive from the receiver's thread and are
folded in on the loop. Every HTTP attempt, retries included, first takes a token from one
shared :class:`~rutter_nb.ratelimit.TokenBucket` (in :class:`ThrottledTransport`), so the
batch keeps itself under Rutter's limit and slows down when a 429 comes anyway.

How polls are timed: the first poll of a job waits an adaptive delay that tracks a high
quantile of job durations (a pending answer lengthens it, a finished one shortens it a
little), so most jobs cost one submit and one poll. Later polls back off from there, and a
server's ``Retry-After`` always wins. With webhooks, the first poll is only a fallback after
``webhook_grace`` seconds, and a delivery cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import random
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from rutter_nb import protocol
from rutter_nb.errors import (
    PlatformRateLimited,
    RateLimited,
    RutterError,
    ServerError,
    TransportError,
    UnknownJobStatus,
)
from rutter_nb.polling import KNOWN_STATUSES
from rutter_nb.protocol import JobState
from rutter_nb.ratelimit import TokenBucket
from rutter_nb.redact import get_logger
from rutter_nb.requests import ApiRequest
from rutter_nb.retry import parse_retry_after

if TYPE_CHECKING:
    from rutter_nb.client import AsyncClient
    from rutter_nb.jobs import Job
    from rutter_nb.journal import Journal
    from rutter_nb.webhooks import Receiver

__all__ = ["AdaptiveDelay", "BatchItem", "Scheduler", "ThrottledTransport"]

_log = get_logger("rutter_nb.batch")

# Errors after which a submit is tried again later with the same Idempotency-Key: nothing
# was accepted (429, 452) or the outcome is unknown and the key makes a resend safe (5xx,
# transport). The client has already retried these a few times itself.
_TRANSIENT = (RateLimited, PlatformRateLimited, ServerError, TransportError)


def job_state(job: dict[str, Any]) -> JobState:
    """A webhook's job object read exactly like a ``GET /jobs/:id`` reply (same checks,
    same redaction)."""
    return protocol.parse_job(httpx.Response(200, json=job))


class AdaptiveDelay:
    """When to poll a job first, learnt from what the first polls found.

    A stochastic quantile tracker: a first poll that finds the job still running lengthens
    the delay by ``exp(step * q)``; one that finds it done shortens it by
    ``exp(-step * (1 - q))``. It settles where a fraction ``1 - q`` of first polls come too
    early, i.e. near the ``q`` quantile of job durations. Pure: tested without a clock.
    """

    def __init__(
        self,
        initial: float = 1.0,
        *,
        quantile: float = 0.95,
        step: float = 0.1,
        low: float = 0.05,
        high: float = 60.0,
    ) -> None:
        self.value = initial
        self.quantile = quantile
        self.step = step
        self.low, self.high = low, high

    def observe(self, age: float, done: bool) -> None:
        """A first poll ``age`` seconds after acceptance found the job ``done`` or not."""
        if done:
            if age <= self.value * 1.1:  # a late poll says nothing about a shorter delay
                self.value *= math.exp(-self.step * (1 - self.quantile))
        else:
            self.value = max(self.value, age) * math.exp(self.step * self.quantile)
        self.value = min(self.high, max(self.low, self.value))

    def follow_up(
        self, age: float, polls_done: int, *, rand: Callable[[], float] = random.random
    ) -> float:
        """Seconds before a later poll of a job still running ``age`` seconds after
        acceptance: until the learnt delay if it is not reached yet, else backing off from a
        fraction of it (1.5x per poll, at most 5 s); ±20 % jitter spreads jobs out."""
        if age < self.value:
            base = self.value - age + 0.1 * self.value
        else:
            base = self.value * 0.3 * 1.5 ** max(0, polls_done - 1)
        return min(5.0, max(0.25, base)) * (0.8 + 0.4 * rand())


class ThrottledTransport(httpx.AsyncBaseTransport):
    """Takes a token before every HTTP attempt and tells the bucket about 429s."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, bucket: TokenBucket, *, close_inner: bool = True
    ) -> None:
        self.inner = inner
        self.bucket = bucket
        self.close_inner = close_inner
        self.requests = 0
        self.throttled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.bucket.acquire()
        self.requests += 1
        response = await self.inner.handle_async_request(request)
        if response.status_code == 429:
            self.throttled += 1
            self.bucket.on_429(parse_retry_after(response.headers.get("Retry-After")))
        return response

    async def aclose(self) -> None:
        if self.close_inner:
            await self.inner.aclose()


class BatchItem:
    """One request of the batch and what became of it."""

    __slots__ = ("accepted_at", "due", "error", "index", "job", "polls", "request", "state")

    def __init__(self, index: int, request: ApiRequest) -> None:
        self.index = index
        self.request = request
        self.job: Job | None = None
        self.state = "unsent"  # unsent, accepted, done, rejected, failed, lost
        self.accepted_at: float | None = None
        self.due = math.inf
        self.polls = 0
        self.error: RutterError | None = None

    @property
    def settled(self) -> bool:
        """Nothing more will happen to this item in this run."""
        return self.state in ("done", "rejected", "failed", "lost")


class Scheduler:
    """Runs one batch to completion on the current event loop (see module docstring).

    Callbacks (``on_accepted``, ``on_rejected``) run on the loop thread and must be quick.
    """

    def __init__(
        self,
        client: AsyncClient,
        items: list[BatchItem],
        *,
        response_mode: str | None,
        concurrency: int,
        journal: Journal | None,
        receiver: Receiver | None,
        on_accepted: Callable[[BatchItem], None],
        on_rejected: Callable[[BatchItem], None],
        webhook_grace: float = 15.0,
        first_poll: float = 1.0,
        poll_concurrency: int = 32,
        submit_tries: int = 8,
    ) -> None:
        self.client = client
        self.items = items
        self.mode = response_mode
        self.concurrency = concurrency
        self.journal = journal
        self.receiver = receiver
        self.on_accepted = on_accepted
        self.on_rejected = on_rejected
        self.webhook_grace = webhook_grace
        self.delay = AdaptiveDelay(first_poll)
        self.submit_tries = submit_tries
        self._poll_slots = asyncio.Semaphore(poll_concurrency)
        self._queue: deque[BatchItem] = deque(i for i in items if i.state == "unsent")
        self._open = sum(not i.settled for i in items)  # items still to settle: O(1) checks
        self._heap: list[tuple[float, int, BatchItem]] = []
        self._seq = itertools.count()
        self._by_job: dict[str, BatchItem] = {}
        self._wake = asyncio.Event()
        self._complete = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self.cancelled = False
        self.counts = {"polls": 0, "webhooks": 0, "submit_retries": 0}

    # -- running ----------------------------------------------------------------------

    async def run(self) -> None:
        unsubscribe = None
        if self.receiver is not None:
            unsubscribe = self.receiver.on_job(self._delivered)
        running: list[asyncio.Task[None]] = []
        try:
            for item in self.items:
                if item.state == "accepted" and item.job is not None:
                    self._follow(item, first_delay=0.0)  # resumed: look at once
            running += [
                asyncio.create_task(self._submit_worker())
                for _ in range(min(self.concurrency, len(self._queue)))
            ]
            running.append(asyncio.create_task(self._poll_loop()))
            self._check_complete()
            await self._complete.wait()
        finally:
            if unsubscribe is not None:
                unsubscribe()
            running += self._tasks
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            if self.journal is not None:
                self.journal.sync()

    def cancel(self) -> None:
        """Stop sending and polling (call on the loop thread). Accepted jobs go on at Rutter."""
        self.cancelled = True
        self._complete.set()

    def _check_complete(self) -> None:
        if not self._queue and self._open == 0:
            self._complete.set()

    def _settle(self, item: BatchItem, state: str) -> bool:
        """Move an item to a final state once; False if it was already settled."""
        if item.settled:
            return False
        item.state = state
        item.due = math.inf
        self._open -= 1
        return True

    # -- submitting -------------------------------------------------------------------

    async def _submit_worker(self) -> None:
        while self._queue and not self._complete.is_set():
            await self._submit(self._queue.popleft())

    async def _submit(self, item: BatchItem) -> None:
        for attempt in itertools.count(1):
            try:
                job = await self.client.send(item.request, self.mode)
            except _TRANSIENT as exc:
                if attempt >= self.submit_tries:
                    # Outcome unknown or never accepted; not journalled, so a resume tries
                    # again with the same key.
                    self._settle_rejected(item, exc, final=False)
                    return
                self.counts["submit_retries"] += 1
                wait = exc.retry_after if exc.retry_after is not None else min(8.0, 0.5 * attempt)
                await asyncio.sleep(wait)
                continue
            except RutterError as exc:  # refused before acceptance: nothing stored by Rutter
                self._settle_rejected(item, exc, final=True)
                return
            self._accepted(item, job)
            return

    def _settle_rejected(self, item: BatchItem, exc: RutterError, *, final: bool) -> None:
        if not self._settle(item, "rejected" if final else "failed"):
            return
        item.error = exc
        if final and self.journal is not None:
            self.journal.record_rejected(item.index, exc.to_dict())
        self.on_rejected(item)
        self._check_complete()

    def _accepted(self, item: BatchItem, job: Job) -> None:
        item.job = job
        item.state = "accepted"
        item.accepted_at = self._loop.time()
        self._by_job[job.id] = item
        if self.journal is not None:
            submitted = job.submitted_at
            self.journal.record_accepted(
                item.index, job.id, submitted.isoformat() if submitted else None
            )
        self.on_accepted(item)
        if job.done:
            self._done(item)
            return
        early = self.receiver.get(job.id) if self.receiver is not None else None
        if early is not None:  # the webhook beat the submit reply
            self._apply_delivery(item, early)
            if item.settled:
                return
        grace = self.webhook_grace if self.receiver is not None else self.delay.value
        self._follow(item, first_delay=grace)

    def _done(self, item: BatchItem) -> None:
        if not self._settle(item, "done"):
            return
        if self.journal is not None and item.job is not None:
            self.journal.record_done(item.index, _journal_job(item.job))
        self._check_complete()

    # -- polling ----------------------------------------------------------------------

    def _follow(self, item: BatchItem, *, first_delay: float) -> None:
        if item.job is not None:
            self._by_job[item.job.id] = item
        if item.accepted_at is None:
            item.accepted_at = self._loop.time()
        self._schedule(item, first_delay)

    def _schedule(self, item: BatchItem, delay: float) -> None:
        item.due = self._loop.time() + max(0.0, delay)
        heapq.heappush(self._heap, (item.due, next(self._seq), item))
        if self._heap[0][2] is item:
            self._wake.set()

    async def _poll_loop(self) -> None:
        while not self._complete.is_set():
            if not self._heap:
                self._wake.clear()
                await self._wake.wait()
                continue
            due, _, item = self._heap[0]
            wait = due - self._loop.time()
            if wait > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            heapq.heappop(self._heap)
            if item.state != "accepted" or item.due != due:
                continue  # finished by a webhook, or rescheduled: a stale heap entry
            await self._poll_slots.acquire()
            task = asyncio.create_task(self._poll(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _poll(self, item: BatchItem) -> None:
        try:
            job = item.job
            assert job is not None and item.accepted_at is not None
            item.due = math.inf  # in flight: a stale heap entry must not poll it twice
            age = self._loop.time() - item.accepted_at
            try:
                state = await self.client.afetch_job(job.id)
            except _TRANSIENT as exc:
                if item.state == "accepted":
                    backoff = self.delay.follow_up(age, item.polls + 1)
                    self._schedule(item, exc.retry_after or backoff)
                return
            except RutterError as exc:  # unknown job, bad credentials...: stop following
                self._lost(item, exc)
                return
            item.polls += 1
            self.counts["polls"] += 1
            job._count_poll()
            if item.state != "accepted":
                return  # a webhook finished it while we were asking
            job.apply(state)
            if item.polls == 1 and self.receiver is None:
                self.delay.observe(age, job.done)
            if job.done:
                self._done(item)
            elif job.status not in KNOWN_STATUSES:
                self._lost(
                    item,
                    UnknownJobStatus(
                        f"job {job.id} has unknown status {job.status!r}; stopped polling it",
                        status=job.status,
                        job=job,
                    ),
                )
            else:
                wait = state.retry_after or self.delay.follow_up(age, item.polls)
                self._schedule(item, wait)
        finally:
            self._poll_slots.release()

    def _lost(self, item: BatchItem, exc: RutterError) -> None:
        if not self._settle(item, "lost"):
            return  # finished by a webhook while the failing poll was in flight
        item.error = exc
        _log.info("stopped following job %s: %s", item.job.id if item.job else "?", exc)
        self._check_complete()

    # -- webhooks ---------------------------------------------------------------------

    def _delivered(self, job: dict[str, Any]) -> None:
        """Receiver thread: hand the delivery to the loop."""
        with contextlib.suppress(RuntimeError):  # a closed loop: the batch is over
            self._loop.call_soon_threadsafe(self._on_delivery, job)

    def _on_delivery(self, job: dict[str, Any]) -> None:
        item = self._by_job.get(str(job.get("id")))
        if item is not None and item.state == "accepted":
            self._apply_delivery(item, job)

    def _apply_delivery(self, item: BatchItem, delivered: dict[str, Any]) -> None:
        assert item.job is not None
        try:
            state = job_state(delivered)
        except RutterError as exc:
            _log.info("ignored a malformed webhook job: %s", exc)
            return
        self.counts["webhooks"] += 1
        item.job.apply(state)
        if item.job.done:
            self._done(item)


def _journal_job(job: Job) -> dict[str, Any]:
    """What the journal keeps of a finished job: its JSON without the derived error."""
    data = job.to_dict()
    data.get("client", {}).pop("error", None)
    return data
