"""Webhook sender: signed `JOB_COMPLETED` POSTs, retried with exponential backoff."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx

from .config import SandboxConfig
from .stats import Stats

log = logging.getLogger("rutter_nb.sandbox.webhooks")


def sign(secret: str, body: bytes) -> str:
    """`X-Rutter-Signature` value: `sha256=` + base64(HMAC-SHA256(client_secret, raw body))."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def payload(job: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed) for one finished job."""
    event = {"type": "JOB", "code": "JOB_COMPLETED", "job": job}
    return json.dumps(event, separators=(",", ":")).encode()


class WebhookSender:
    """Delivers events on the server's loop; one task per (event, URL)."""

    def __init__(self, config: Callable[[], SandboxConfig], stats: Stats) -> None:
        self._config = config
        self._stats = stats
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    def job_completed(self, job: dict[str, Any]) -> None:
        """Queue a delivery of `job` to every configured URL (no-op without URLs)."""
        config = self._config()
        if not config.webhook_urls:
            return
        body = payload(job)
        for url in config.webhook_urls:
            task = asyncio.get_running_loop().create_task(self._deliver(url, body, config))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, body: bytes, config: SandboxConfig) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=5.0)
        headers = {
            "Content-Type": "application/json",
            "X-Rutter-Signature": sign(config.client_secret, body),
            "User-Agent": "rutter-nb-sandbox-webhooks",
        }
        delay = config.webhook_backoff
        for attempt in range(config.webhook_retries + 1):
            if attempt:
                self._stats.webhooks["retries"] += 1
                await asyncio.sleep(delay)
                delay *= 2
            self._stats.webhooks["attempts"] += 1
            try:
                reply = await self._client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                log.info("webhook to %s failed: %s", url, type(exc).__name__)
                continue
            if 200 <= reply.status_code < 300:
                self._stats.webhooks["delivered"] += 1
                return
            log.info("webhook to %s answered %s", url, reply.status_code)
        self._stats.webhooks["failed"] += 1

    @property
    def in_flight(self) -> int:
        """Deliveries not yet finished (including those waiting to retry)."""
        return len(self._tasks)

    async def close(self) -> None:
        """Cancel outstanding deliveries and close the HTTP client."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
