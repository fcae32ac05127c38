"""Retry schedule for HTTP attempts: pure functions of attempt number, reply and clock.

Connection errors, 429 and 5xx are retried with jittered exponential backoff, honouring
``Retry-After`` (seconds or an HTTP date) up to a cap. Whether a *write* may be retried
is decided by the caller from its Idempotency-Key (see :meth:`RetryPolicy.may_retry`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

__all__ = ["RetryPolicy", "parse_retry_after"]


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date).

    Returns None for a missing or unreadable header, 0 for a date in the past.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is unreadable
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # e.g. a 20-digit day
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to wait before repeating a failed HTTP attempt."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0
    jitter: float = 0.5
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({429}))

    def retryable_status(self, status: int) -> bool:
        """429 and every 5xx (Rutter failed, outcome unknown)."""
        return status in self.retry_statuses or 500 <= status <= 599

    def may_retry(
        self,
        retries_done: int,
        *,
        status: int | None = None,
        sent: bool = True,
        safe: bool,
    ) -> bool:
        """True when another attempt is allowed.

        ``status`` is the reply's status, or None for a transport error; ``sent`` is False
        when the request certainly never reached the server (connect failed); ``safe`` is
        True for GET/DELETE and for writes carrying an Idempotency-Key. A 429 and an
        unsent request are always safe: nothing was accepted.
        """
        if retries_done >= self.max_retries:
            return False
        if status is not None:
            if not self.retryable_status(status):
                return False
            return safe or status == 429
        return safe or not sent

    def delay(
        self,
        retries_done: int,
        retry_after: float | None = None,
        *,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Seconds before the next attempt: ``Retry-After`` (capped) when given, else
        ``base * 2**n`` capped at ``max_delay`` with up to ``jitter`` of it removed."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * (2.0**retries_done))
        return backoff * (1.0 - self.jitter * rand())
