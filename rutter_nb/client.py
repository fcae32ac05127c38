"""`Client` and `AsyncClient`: thin shells over :mod:`rutter_nb.protocol` plus retries.

Both take the same arguments, fill the missing ones from ``RUTTER_*`` variables, send an
:class:`~rutter_nb.requests.ApiRequest` and return a :class:`~rutter_nb.jobs.Job` whether
Rutter answered at once or asynchronously.

>>> import rutter_nb
>>> client = rutter_nb.connect()                     # doctest: +SKIP
>>> job = client.send(rutter_nb.request("GET", "/accounting/invoices"))  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

import httpx

from rutter_nb import protocol
from rutter_nb.errors import ConfigurationError, InvalidRequest, TransportError
from rutter_nb.jobs import Job, job_from_token
from rutter_nb.polling import PollPolicy
from rutter_nb.protocol import Accepted, Finished, JobState
from rutter_nb.redact import get_logger, redact_url, scrub
from rutter_nb.requests import IDEMPOTENT_KEY_METHODS, ApiRequest
from rutter_nb.retry import RetryPolicy, parse_retry_after
from rutter_nb.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rutter_nb.batch import Batch
    from rutter_nb.ratelimit import RateLimit
    from rutter_nb.sandbox import Sandbox
    from rutter_nb.webhooks import Receiver

__all__ = ["AsyncClient", "Client", "connect"]

_log = get_logger("rutter_nb.client")


class _Base(ABC):
    """Settings, policies and the logic both clients share (no I/O here)."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        access_token: str | None = None,
        version: str | None = None,
        env: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        auto_idempotency: bool = True,
    ) -> None:
        self.settings = Settings.resolve(
            base_url,
            client_id=client_id,
            client_secret=client_secret,
            access_token=access_token,
            version=version,
            env=env,
            timeout=timeout,
            max_retries=max_retries,
        )
        self.retry_policy = retry if retry is not None else RetryPolicy(max_retries=max_retries)
        self._poll = poll if poll is not None else PollPolicy()
        self.auto_idempotency = auto_idempotency
        self._closed = False

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def version(self) -> str:
        return self.settings.version

    @property
    def poll_policy(self) -> PollPolicy:
        return self._poll

    @property
    def sandbox(self) -> Sandbox | None:
        """The embedded sandbox this client talks to (to configure faults, read stats), or
        None for the real API: notebooks use it to run unchanged either way."""
        embedded = _sandbox
        return embedded if embedded is not None and embedded.base_url == self.base_url else None

    def __repr__(self) -> str:
        s = self.settings
        token = "set" if s.access_token else "none"
        return (
            f"{type(self).__name__}(base_url={redact_url(s.base_url)!r}, version={s.version!r}, "
            f"client_id={s.client_id!r}, access_token={token})"
        )

    @abstractmethod
    def fetch_job(self, job_id: str, *, timeout: float | None = None) -> JobState:
        """One read of ``GET /jobs/:id`` (what a Job polls through)."""

    @abstractmethod
    async def afetch_job(self, job_id: str, *, timeout: float | None = None) -> JobState:
        """The same read, awaitable."""

    def _plan(
        self, request: ApiRequest, response_mode: str | None, idempotency_key: str | None
    ) -> tuple[str | None, str | None]:
        """The response mode and Idempotency-Key of one logical call.

        A key is generated once here (uuid4) for POST/PATCH unless given, and the same key
        goes with every attempt, so a retry after an unknown outcome cannot duplicate.
        """
        if not isinstance(request, ApiRequest):
            raise InvalidRequest(
                f"send() takes an ApiRequest (see rutter_nb.request), got {type(request).__name__}"
            )
        if self._closed:
            raise ConfigurationError("this client is closed")
        mode = request.with_response_mode(response_mode).response_mode if response_mode else None
        mode = mode or request.response_mode
        key = idempotency_key or request.idempotency_key
        if key is None and self.auto_idempotency and request.method in IDEMPOTENT_KEY_METHODS:
            key = str(uuid.uuid4())
        return mode, key

    def _job_from(
        self,
        outcome: Finished | Accepted,
        request: ApiRequest,
        mode: str | None,
        key: str | None,
        submitted_at: dt.datetime,
        attempts: int,
    ) -> Job:
        described = protocol.wire_description(
            request, self.settings, response_mode=mode, idempotency_key=key
        )
        common: dict[str, Any] = {
            "request": described,
            "api_request": request.redacted(),
            "response_mode": mode,
            "submitted_at": submitted_at,
            "attempts": attempts,
            "source": self,
            "replayed": outcome.replayed,
        }
        if isinstance(outcome, Accepted):
            return Job(outcome.job_id, outcome.status, **common)
        ok = 200 <= outcome.http_status <= 299
        job_id = outcome.job_id or f"sync-{uuid.uuid4()}"
        return Job(
            job_id,
            "success" if ok else "failure",
            response={"http_status": outcome.http_status, "body": outcome.body},
            sync=True,
            local=outcome.job_id is None,
            **common,
        )

    def _resume_data(self, token: str) -> dict[str, Any]:
        data = job_from_token(token)
        if data.get("local"):
            raise InvalidRequest(
                f"job {data['id']} finished synchronously without a server job id "
                f"(status {data.get('status')!r}); there is nothing to resume"
            )
        base = data.get("base_url")
        if base and base != redact_url(self.base_url):
            raise ConfigurationError(
                f"this job lives at {base}, but this client talks to {redact_url(self.base_url)}"
            )
        return data

    def _resumed(self, data: dict[str, Any], state: JobState) -> Job:
        submitted = data.get("submitted_at")
        job = Job(
            state.id,
            state.status,
            request=state.request,
            response=state.response,
            response_mode=data.get("response_mode"),
            entity=data.get("entity"),
            submitted_at=dt.datetime.fromisoformat(submitted) if submitted else None,
            sync=bool(data.get("sync")),
            source=self,
        )
        job._count_poll()
        return job

    def _fetched(self, state: JobState) -> Job:
        job = Job(
            state.id,
            state.status,
            request=state.request,
            response=state.response,
            source=self,
        )
        job._count_poll()
        return job


def _sent(exc: httpx.TransportError) -> bool:
    """False only when the request surely never reached the server."""
    return not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


def _transport_error(exc: httpx.TransportError, request: ApiRequest | None) -> TransportError:
    what = f"{request.method} {request.path}" if request is not None else "request"
    return TransportError(
        f"{what} failed: {type(exc).__name__}: {scrub(str(exc)) or 'no detail'}",
        request=request,
    )


class Client(_Base):
    """Blocking client over ``httpx.Client``; needs no event loop (works in kernels).

    >>> with rutter_nb.Client(env="sandbox") as client:          # doctest: +SKIP
    ...     job = client.send(rutter_nb.customer(customer_name="Ada"), "async").wait()
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        access_token: str | None = None,
        version: str | None = None,
        env: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        auto_idempotency: bool = True,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            base_url,
            client_id=client_id,
            client_secret=client_secret,
            access_token=access_token,
            version=version,
            env=env,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            poll=poll,
            auto_idempotency=auto_idempotency,
        )
        self._sleep = sleep
        self._http = httpx.Client(timeout=self.settings.timeout, transport=transport)

    def _exchange(
        self,
        build: Callable[[], httpx.Request],
        *,
        safe: bool,
        policy: RetryPolicy,
        request: ApiRequest | None,
        timeout: float | None = None,
    ) -> tuple[httpx.Response, int]:
        """Send with retries; returns the final response and how many attempts it took."""
        attempts = 0
        while True:
            attempts += 1
            http_request = build()
            if timeout is not None:
                http_request.extensions["timeout"] = httpx.Timeout(max(1.0, timeout)).as_dict()
            target = f"{http_request.method} {request.path if request else http_request.url.path}"
            try:
                response = self._http.send(http_request)
                response.read()
            except httpx.TransportError as exc:
                if policy.may_retry(attempts - 1, sent=_sent(exc), safe=safe):
                    wait = policy.delay(attempts - 1)
                    _log.info(
                        "%s: %s, retry %d in %.2fs", target, type(exc).__name__, attempts, wait
                    )
                    self._sleep(wait)
                    continue
                raise _transport_error(exc, request) from None
            status = response.status_code
            _log.debug("%s attempt %d -> %d", target, attempts, status)
            if policy.retryable_status(status) and policy.may_retry(
                attempts - 1, status=status, safe=safe
            ):
                wait = policy.delay(
                    attempts - 1, parse_retry_after(response.headers.get("Retry-After"))
                )
                _log.info("%s: HTTP %d, retry %d in %.2fs", target, status, attempts, wait)
                self._sleep(wait)
                continue
            return response, attempts

    def send(
        self,
        request: ApiRequest,
        response_mode: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Job:
        """Send ``request`` and return its :class:`Job` (finished when Rutter answered
        synchronously, pending otherwise). Refused requests raise their typed error."""
        mode, key = self._plan(request, response_mode, idempotency_key)
        redacted = request.redacted()
        submitted_at = dt.datetime.now(dt.UTC)
        response, attempts = self._exchange(
            lambda: protocol.prepare(
                request, self.settings, response_mode=mode, idempotency_key=key
            ),
            safe=protocol.retry_safe(request, key),
            policy=self.retry_policy,
            request=redacted,
        )
        outcome = protocol.parse_submit(response, redacted)
        return self._job_from(outcome, request, mode, key, submitted_at, attempts)

    def fetch_job(self, job_id: str, *, timeout: float | None = None) -> JobState:
        """One read of ``GET /jobs/:id``, retried under the poll policy's retry rules."""
        response, _ = self._exchange(
            lambda: protocol.job_request(job_id, self.settings),
            safe=True,
            policy=self._poll.poll_retry,
            request=None,
            timeout=timeout,
        )
        return protocol.parse_job(response)

    async def afetch_job(self, job_id: str, *, timeout: float | None = None) -> JobState:
        """Async read for ``wait_async`` on a job from this blocking client (a thread)."""
        return await asyncio.to_thread(self.fetch_job, job_id, timeout=timeout)

    def job(self, job_id: str) -> Job:
        """Fetch a job by id (``GET /jobs/:id``)."""
        return self._fetched(self.fetch_job(job_id))

    def send_many(
        self,
        requests: Iterable[ApiRequest],
        response_mode: str | None = "async",
        *,
        concurrency: int | None = None,
        rate_limit: str | RateLimit = "500/10s",
        journal: str | os.PathLike[str] | None = None,
        webhooks: Receiver | bool | None = None,
        display: bool | None = None,
    ) -> Batch:
        """Send many requests as one rate-limited, resumable batch; returns it at once.

        See :func:`rutter_nb.batch.send_many`. ``batch.wait()`` blocks until all are done.
        """
        from rutter_nb.batch import send_many

        return send_many(
            self,
            requests,
            response_mode,
            concurrency=concurrency,
            rate_limit=rate_limit,
            journal=journal,
            webhooks=webhooks,
            display=display,
        )

    def resume(self, token: str) -> Job:
        """A job again from :meth:`Job.to_token`, read fresh from the server."""
        data = self._resume_data(token)
        return self._resumed(data, self.fetch_job(data["id"]))

    def close(self) -> None:
        self._closed = True
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Base):
    """Async client over ``httpx.AsyncClient``; same arguments and results as
    :class:`Client`. Its jobs can also ``wait()`` synchronously, through a private
    blocking ``httpx.Client`` built from the same settings.

    >>> async with rutter_nb.AsyncClient(env="sandbox") as client:     # doctest: +SKIP
    ...     job = await client.send(rutter_nb.customer(customer_name="Ada"), "async")
    ...     await job.wait_async()
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        access_token: str | None = None,
        version: str | None = None,
        env: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        auto_idempotency: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        super().__init__(
            base_url,
            client_id=client_id,
            client_secret=client_secret,
            access_token=access_token,
            version=version,
            env=env,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            poll=poll,
            auto_idempotency=auto_idempotency,
        )
        self._sleep = sleep
        self._transport = transport
        self._http = httpx.AsyncClient(timeout=self.settings.timeout, transport=transport)
        self._sync_lock = threading.Lock()
        self._sync: Client | None = None

    def _sync_client(self) -> Client:
        """The private blocking client that serves ``job.wait()`` for async jobs."""
        with self._sync_lock:
            if self._closed:
                raise ConfigurationError("this client is closed")
            if self._sync is None:
                s = self.settings
                sync_transport = (
                    self._transport if isinstance(self._transport, httpx.BaseTransport) else None
                )
                self._sync = Client(
                    s.base_url,
                    client_id=s.client_id,
                    client_secret=s.client_secret,
                    access_token=s.access_token,
                    version=s.version,
                    timeout=s.timeout,
                    max_retries=s.max_retries,
                    retry=self.retry_policy,
                    poll=self._poll,
                    auto_idempotency=self.auto_idempotency,
                    transport=sync_transport,
                )
            return self._sync

    async def _exchange(
        self,
        build: Callable[[], httpx.Request],
        *,
        safe: bool,
        policy: RetryPolicy,
        request: ApiRequest | None,
        timeout: float | None = None,
    ) -> tuple[httpx.Response, int]:
        attempts = 0
        while True:
            attempts += 1
            http_request = build()
            if timeout is not None:
                http_request.extensions["timeout"] = httpx.Timeout(max(1.0, timeout)).as_dict()
            target = f"{http_request.method} {request.path if request else http_request.url.path}"
            try:
                response = await self._http.send(http_request)
                await response.aread()
            except httpx.TransportError as exc:
                if policy.may_retry(attempts - 1, sent=_sent(exc), safe=safe):
                    wait = policy.delay(attempts - 1)
                    _log.info(
                        "%s: %s, retry %d in %.2fs", target, type(exc).__name__, attempts, wait
                    )
                    await self._sleep(wait)
                    continue
                raise _transport_error(exc, request) from None
            status = response.status_code
            _log.debug("%s attempt %d -> %d", target, attempts, status)
            if policy.retryable_status(status) and policy.may_retry(
                attempts - 1, status=status, safe=safe
            ):
                wait = policy.delay(
                    attempts - 1, parse_retry_after(response.headers.get("Retry-After"))
                )
                _log.info("%s: HTTP %d, retry %d in %.2fs", target, status, attempts, wait)
                await self._sleep(wait)
                continue
            return response, attempts

    async def send(
        self,
        request: ApiRequest,
        response_mode: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Job:
        """Async :meth:`Client.send`."""
        mode, key = self._plan(request, response_mode, idempotency_key)
        redacted = request.redacted()
        submitted_at = dt.datetime.now(dt.UTC)
        response, attempts = await self._exchange(
            lambda: protocol.prepare(
                request, self.settings, response_mode=mode, idempotency_key=key
            ),
            safe=protocol.retry_safe(request, key),
            policy=self.retry_policy,
            request=redacted,
        )
        outcome = protocol.parse_submit(response, redacted)
        return self._job_from(outcome, request, mode, key, submitted_at, attempts)

    async def afetch_job(self, job_id: str, *, timeout: float | None = None) -> JobState:
        response, _ = await self._exchange(
            lambda: protocol.job_request(job_id, self.settings),
            safe=True,
            policy=self._poll.poll_retry,
            request=None,
            timeout=timeout,
        )
        return protocol.parse_job(response)

    def fetch_job(self, job_id: str, *, timeout: float | None = None) -> JobState:
        """Blocking read for ``job.wait()``: no event loop needed, none touched."""
        return self._sync_client().fetch_job(job_id, timeout=timeout)

    async def job(self, job_id: str) -> Job:
        """Fetch a job by id (``GET /jobs/:id``)."""
        return self._fetched(await self.afetch_job(job_id))

    async def send_many(
        self,
        requests: Iterable[ApiRequest],
        response_mode: str | None = "async",
        *,
        concurrency: int | None = None,
        rate_limit: str | RateLimit = "500/10s",
        journal: str | os.PathLike[str] | None = None,
        webhooks: Receiver | bool | None = None,
        display: bool | None = None,
    ) -> Batch:
        """Async twin of :meth:`Client.send_many`; ``await batch.wait_async()`` after."""
        from rutter_nb.batch import send_many

        return send_many(
            self,
            requests,
            response_mode,
            concurrency=concurrency,
            rate_limit=rate_limit,
            journal=journal,
            webhooks=webhooks,
            display=display,
        )

    async def resume(self, token: str) -> Job:
        """A job again from :meth:`Job.to_token`, read fresh from the server."""
        data = self._resume_data(token)
        return self._resumed(data, await self.afetch_job(data["id"]))

    async def aclose(self) -> None:
        self._closed = True
        await self._http.aclose()
        with self._sync_lock:
            if self._sync is not None:
                self._sync.close()

    async def close(self) -> None:
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


_sandbox_lock = threading.Lock()
_sandbox: Sandbox | None = None


def _has_credentials(kwargs: dict[str, Any]) -> bool:
    import os

    return bool(
        (kwargs.get("client_id") or os.environ.get("RUTTER_CLIENT_ID"))
        and (kwargs.get("client_secret") or os.environ.get("RUTTER_CLIENT_SECRET"))
    )


def embedded_sandbox() -> Sandbox:
    """The process-wide embedded sandbox, started on first use (127.0.0.1, free port)."""
    global _sandbox
    with _sandbox_lock:
        if _sandbox is None:
            import atexit

            from rutter_nb.sandbox import Sandbox

            sandbox = Sandbox(port=0)
            sandbox.start()
            atexit.register(sandbox.stop)
            _sandbox = sandbox
        return _sandbox


def _stop_embedded_sandbox() -> None:
    """Stop the process-wide sandbox (tests use this; normally it lives until exit)."""
    global _sandbox
    with _sandbox_lock:
        if _sandbox is not None:
            _sandbox.stop()
            _sandbox = None


def connect(**kwargs: Any) -> Client:
    """A :class:`Client` for the real API when credentials exist (arguments or
    ``RUTTER_*`` variables), else for the embedded sandbox, started once per process.

    >>> client = rutter_nb.connect()                 # doctest: +SKIP
    rutter_nb: no Rutter credentials found, using the embedded sandbox at http://127.0.0.1:...
    """
    if _has_credentials(kwargs):
        return Client(**kwargs)
    sandbox = embedded_sandbox()
    print(
        f"rutter_nb: no Rutter credentials found, using the embedded sandbox at {sandbox.base_url}"
    )
    kwargs = {k: v for k, v in kwargs.items() if k not in ("base_url", "env")}
    return Client(
        sandbox.base_url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        access_token=sandbox.access_token,
        **kwargs,
    )
