"""The job engine: accepts writes as jobs, paces them per platform, runs and finishes them.

Everything runs on the server's one event loop (no locks): acceptance is a synchronous
step, so an idempotency check and the job insert cannot interleave. Async jobs wait
`prequeued` in a per-connection queue until the platform's pace (`platform_rate`) allows
them to start; a `prefer_sync` write that finds the platform busy gets 452 at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import entities, idempotency
from .config import FAULT_KINDS, SandboxConfig
from .errors import ApiError, error_body
from .ratelimit import BucketMap
from .seed import Randomness, now_iso, seed_connection, token_hash
from .stats import Stats
from .store import JobRow, Store
from .webhooks import WebhookSender

log = logging.getLogger("rutter_nb.sandbox")

# [ours] keys are kept at least `idempotency_ttl` (24 h); expired ones are dropped hourly.
_PRUNE_EVERY = 3600.0


@dataclass(frozen=True)
class Caller:
    """Who is asking: the authenticated client and (for data endpoints) the connection."""

    client_id: str
    version: str
    connection: dict[str, str] | None = None
    token_hash: str = ""


@dataclass(frozen=True)
class Submission:
    """A stage-one-valid write, ready to become a job."""

    kind: entities.Kind
    op: str  # "create" | "update" | "delete"
    target: str | None
    data: dict[str, Any]
    body: Any
    method: str
    path: str
    url: str
    mode: str
    idempotency_key: str | None
    duration: float | None


class Engine:
    """Owns the store, the buckets, the queues and the timers of one sandbox."""

    def __init__(self, config: SandboxConfig, db_path: str) -> None:
        self.config = config
        self.db_path = db_path
        self.stats = Stats()
        self.rand = Randomness(config.seed)
        self.webhooks = WebhookSender(lambda: self.config, self.stats)
        self._org = BucketMap(config.rate_limit)
        self._platform = BucketMap(config.platform_rate)
        self._queues: dict[str, deque[str]] = {}
        self._wakeups: dict[str, asyncio.Event] = {}
        self._dispatchers: dict[str, asyncio.Task[None]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._waiters: dict[str, asyncio.Event] = {}
        self._store: Store | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.connection: dict[str, str] = {}
        self._pruned = 0.0
        self.startup_error: Exception | None = None

    # life cycle ----------------------------------------------------------------------
    @property
    def store(self) -> Store:
        """The open store (only between `start` and `stop`)."""
        if self._store is None:
            raise RuntimeError("the sandbox engine is not running")
        return self._store

    async def start(self) -> None:
        """Open the database, seed it when new, and resume unfinished jobs."""
        self.loop = asyncio.get_running_loop()
        self._store = Store(self.db_path)
        # a restart on the same database must not repeat the ids of the first run
        starts = self._store.bump_counter("starts")
        seed = self.config.seed
        self.rand = Randomness(seed if seed is None or not starts else f"{seed}/{starts}")
        self._ensure_main_connection()
        resumed = self.store.unfinished_jobs()
        for job in resumed:
            if job.status == "pending":
                self._schedule(job, resumed=True)
            else:
                self._enqueue(job.connection_id, job.id)
        if resumed:
            log.info("resumed %d unfinished job(s)", len(resumed))
        self._pruned = time.time()
        self.store.prune_keys(self._pruned - self.config.idempotency_ttl)

    def _ensure_main_connection(self) -> None:
        found = self.store.connection_by_token(token_hash(self.config.access_token))
        if found is None:
            found = seed_connection(self.store, self.rand, self.config.access_token)
        self.connection = found

    async def stop(self) -> None:
        """Cancel timers and dispatchers (state stays in the database) and close."""
        self._cancel_work()
        await self.webhooks.close()
        if self._store is not None:
            self._store.close()
            self._store = None

    def _cancel_work(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in self._dispatchers.values():
            task.cancel()
        self._dispatchers.clear()
        self._queues.clear()
        self._wakeups.clear()
        for event in self._waiters.values():
            event.set()
        self._waiters.clear()

    def configure(self, **changes: Any) -> SandboxConfig:
        """Replace runtime settings; rate changes start fresh buckets."""
        config = self.config.replace(**changes)
        if config.rate_limit != self.config.rate_limit:
            self._org = BucketMap(config.rate_limit)
        if config.platform_rate != self.config.platform_rate:
            self._platform = BucketMap(config.platform_rate)
            for event in self._wakeups.values():
                event.set()
        self.config = config
        return config

    def reset(self) -> None:
        """Forget every job, entity, key and counter; reseed the main connection."""
        self._cancel_work()
        self.store.clear()
        self.stats.reset()
        self._org = BucketMap(self.config.rate_limit)
        self._platform = BucketMap(self.config.platform_rate)
        self.rand = Randomness(self.config.seed)
        self._ensure_main_connection()

    def add_connection(self) -> tuple[str, dict[str, str]]:
        """A new connection with its own seed data; returns (access_token, connection)."""
        token = self.rand.uuid()
        return token, seed_connection(self.store, self.rand, token)

    def snapshot(self) -> dict[str, Any]:
        """Everything `GET /_sandbox/stats` reports."""
        data = self.stats.snapshot(self.store.job_counts(), self.store.created_counts())
        data["queued"] = sum(len(q) for q in self._queues.values())
        data["webhooks"]["in_flight"] = self.webhooks.in_flight
        return data

    # request-time checks -----------------------------------------------------------
    def take_request_slot(self, client_id: str) -> None:
        """Rutter's organisation limit: 429 with `Retry-After` when spent."""
        wait = self._org.take(client_id, time.monotonic())
        if wait > 0:
            raise ApiError(
                429,
                "RATE_LIMIT_ERROR",
                "RATE_LIMIT_EXCEEDED",
                f"Rate limit of {self.config.rate_limit[0]} requests per "
                f"{self.config.rate_limit[1]:g} s exceeded; retry after {wait:.2f} s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    def connection_for(self, token: str) -> tuple[dict[str, str], str] | None:
        """The connection an access token opens (and the token's hash), or None."""
        hashed = token_hash(token)
        found = self.store.connection_by_token(hashed)
        return None if found is None else (found, hashed)

    def pick_fault(self, forced: str | None) -> str | None:
        """The fault for this write: forced by header, else drawn from `faults`."""
        if forced is not None:
            if forced not in FAULT_KINDS:
                raise ApiError(
                    400,
                    "INVALID_REQUEST",
                    "INVALID_SANDBOX_FAULT",
                    f"X-Sandbox-Fault must be one of {', '.join(FAULT_KINDS)}",
                )
            return forced
        faults = self.config.faults
        if not faults:
            return None
        draw = self.rand.rng.random()
        for kind in FAULT_KINDS:
            draw -= faults.get(kind, 0.0)
            if draw < 0:
                return kind
        return None

    # acceptance ----------------------------------------------------------------------
    def submit(self, caller: Caller, sub: Submission) -> tuple[JobRow, bool]:
        """Accept a write as a job, or replay the key's job: `(job, replayed)`.

        Raises 409 for a reused key with another request, 452 when a prefer_sync write
        meets the platform's limit. Synchronous: nothing else runs on the loop meanwhile.
        """
        assert caller.connection is not None
        now = time.time()
        if now - self._pruned > _PRUNE_EVERY:
            self._pruned = now
            self.store.prune_keys(now - self.config.idempotency_ttl)
        scope = idempotency.scope(caller.client_id, caller.token_hash)
        fingerprint = ""
        if sub.idempotency_key is not None:
            fingerprint = idempotency.fingerprint(sub.method, sub.path, sub.body)
            stored = self.store.get_key(scope, sub.idempotency_key)
            job_id = idempotency.replay_job_id(stored, fingerprint)
            if job_id is not None:
                job = self.store.get_job(job_id)
                if job is not None:
                    return job, True
        conn_id = caller.connection["id"]
        if sub.mode == "prefer_sync":
            wait = self._platform.take(conn_id, time.monotonic())
            if wait > 0:
                raise ApiError(
                    452,
                    "PLATFORM_ERROR",
                    "PLATFORM_RATE_LIMIT_EXCEEDED",
                    "The accounting platform's rate limit was reached; retry later "
                    "or send the write with response_mode=async",
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                )
        job = self._new_job(caller, sub, "pending" if sub.mode == "prefer_sync" else "prequeued")
        with self.store.tx():
            self.store.insert_job(job)
            if sub.idempotency_key is not None:
                self.store.put_key(scope, sub.idempotency_key, fingerprint, job.id, now)
        if job.status == "pending":
            self._schedule(job)
        else:
            self._enqueue(conn_id, job.id)
        return job, False

    def _new_job(self, caller: Caller, sub: Submission, status: str) -> JobRow:
        assert caller.connection is not None
        low, high = self.config.job_duration
        duration = sub.duration if sub.duration is not None else self.rand.uniform(low, high)
        request: dict[str, Any] = {"method": sub.method, "url": sub.url, "body": sub.body}
        if sub.idempotency_key is not None:
            request["idempotency_key"] = sub.idempotency_key
        work = {
            "kind": sub.kind.path,
            "op": sub.op,
            "target": sub.target,
            "data": sub.data,
            "version": caller.version,
            "duration": duration,
            "fail": self.rand.chance(self.config.failure_rate),
        }
        now = now_iso()
        return JobRow(
            id=self.rand.uuid(),
            connection_id=caller.connection["id"],
            client_id=caller.client_id,
            status=status,
            request=request,
            response=None,
            work=work,
            created_at=now,
            updated_at=now,
        )

    async def wait(self, job_id: str, timeout: float) -> JobRow | None:
        """The job once it is terminal or `timeout` seconds have passed."""
        job = self.store.get_job(job_id) if self._store else None
        if job is None or job.done or timeout <= 0:
            return job
        event = self._waiters.setdefault(job_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return self.store.get_job(job_id) if self._store else None

    # pacing and running --------------------------------------------------------------
    def _enqueue(self, conn_id: str, job_id: str) -> None:
        queue = self._queues.setdefault(conn_id, deque())
        queue.append(job_id)
        wakeup = self._wakeups.setdefault(conn_id, asyncio.Event())
        wakeup.set()
        if conn_id not in self._dispatchers:
            assert self.loop is not None
            self._dispatchers[conn_id] = self.loop.create_task(self._dispatch(conn_id))

    async def _dispatch(self, conn_id: str) -> None:
        """Start this connection's queued jobs as fast as its platform allows."""
        queue = self._queues[conn_id]
        wakeup = self._wakeups[conn_id]
        while True:
            if not queue:
                wakeup.clear()
                await wakeup.wait()
                continue
            wait = self._platform.take(conn_id, time.monotonic())
            if wait > 0:  # sleep until a slot frees up or the settings change
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), wait)
                continue
            job = self.store.get_job(queue.popleft())
            if job is None or job.status != "prequeued":
                continue
            job.status = "pending"
            job.updated_at = now_iso()
            self.store.save_job(job)
            self._schedule(job)

    def _schedule(self, job: JobRow, resumed: bool = False) -> None:
        """Finish the job after its duration (what is left of it, when resumed)."""
        assert self.loop is not None
        delay = float(job.work.get("duration", 0.0))
        if resumed:
            started = datetime.fromisoformat(job.updated_at.replace("Z", "+00:00"))
            delay = max(0.0, started.timestamp() + delay - time.time())
        self._timers[job.id] = self.loop.call_later(delay, self._finish, job.id)

    def _finish(self, job_id: str) -> None:
        """Run the job's work against the store and record its outcome."""
        self._timers.pop(job_id, None)
        if self._store is None:
            return
        job = self.store.get_job(job_id)
        if job is None or job.done:
            return
        try:
            with self.store.tx():
                status, body = self._execute(job)
                now = now_iso()
                job.status = "success" if status < 300 else "failure"
                job.response = {"http_status": status, "body": body}
                job.updated_at = job.completed_at = now
                self.store.save_job(job)
        except Exception:  # a bug must not leave the job pending forever
            log.exception("job %s crashed", job_id)
            job.status = "failure"
            job.response = {
                "http_status": 500,
                "body": error_body("RUTTER_ERROR", "INTERNAL_ERROR", "The job failed unexpectedly"),
            }
            job.updated_at = job.completed_at = now_iso()
            self.store.save_job(job)
        event = self._waiters.pop(job_id, None)
        if event is not None:
            event.set()
        self.webhooks.job_completed(job.public())

    def _execute(self, job: JobRow) -> tuple[int, dict[str, Any]]:
        work = job.work
        kind = entities.BY_PATH[work["kind"]]
        conn_id = job.connection_id
        if work.get("fail"):
            return 450, error_body(
                "PLATFORM_ERROR",
                "PLATFORM_REJECTED",
                "The accounting platform rejected the request (simulated by failure_rate)",
            )
        data: dict[str, Any] = work["data"]
        target = work.get("target")
        existing = None
        if work["op"] != "create":
            existing = self.store.get_entity(conn_id, kind.singular, str(target))
            if existing is None:
                return 450, error_body(
                    "PLATFORM_ERROR",
                    "ENTITY_NOT_FOUND",
                    f"No {kind.singular} with id {target} exists on this connection",
                )
        for where, target_type, ref_id in entities.references(kind, data):
            if self.store.get_entity(conn_id, target_type, ref_id) is None:
                return 450, error_body(
                    "PLATFORM_ERROR",
                    "INVALID_REFERENCE",
                    f"{kind.singular}.{where}: no {target_type} with id {ref_id} exists",
                )
        problem = _business_rule(kind, data)
        if problem:
            return 450, error_body("PLATFORM_ERROR", problem[0], problem[1])
        version = work["version"]
        now = now_iso()
        if work["op"] == "delete":
            self.store.delete_entity(conn_id, kind.singular, str(target))
            return 200, {kind.singular: {"id": target, "deleted": True}}
        if existing is not None:
            entity = entities.patch(kind, existing, data, now)
        else:
            entity = entities.build(kind, data, self.rand.uuid(), self.rand.platform_id(), now)
        self.store.put_entity(conn_id, kind.singular, entity)
        if kind.singular == "invoice_payment":
            self._apply_payment(conn_id, data, entity["id"])
        return 200, {kind.singular: entities.render(kind, entity, version)}

    def _apply_payment(self, conn_id: str, data: dict[str, Any], payment_id: str) -> None:
        kind = entities.BY_SINGULAR["invoice"]
        for link in data.get("linked_invoices") or []:
            invoice = self.store.get_entity(conn_id, "invoice", link["id"])
            if invoice is None:
                continue
            due = round(float(invoice.get("amount_due") or 0) - float(link["amount"]), 2)
            invoice["amount_due"] = max(due, 0.0)
            invoice["status"] = "paid" if due <= 0 else "partially_paid"
            invoice["linked_payments"] = [
                *invoice.get("linked_payments", []),
                {
                    "id": payment_id,
                    "date": data["txn_date"],
                    "type": "payment",
                    "amount": link["amount"],
                },
            ]
            invoice["updated_at"] = now_iso()
            self.store.put_entity(conn_id, kind.singular, invoice)


def _business_rule(kind: entities.Kind, data: dict[str, Any]) -> tuple[str, str] | None:
    """Checks a platform makes after acceptance (stage two)."""
    if kind.singular == "journal_entry" and "line_items" in data:
        total = round(sum(float(line["total_amount"]) for line in data["line_items"]), 2)
        if total != 0:
            return "UNBALANCED_JOURNAL_ENTRY", f"Journal entry lines must sum to 0, got {total:g}"
    if kind.singular == "invoice_payment" and data.get("linked_invoices"):
        linked = round(sum(float(link["amount"]) for link in data["linked_invoices"]), 2)
        if linked > float(data.get("total_amount", 0)) + 1e-9:
            return "PAYMENT_OVERALLOCATED", "Linked invoice amounts exceed the payment total"
    return None
