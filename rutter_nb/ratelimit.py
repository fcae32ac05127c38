"""A client-side token bucket so that a batch never trips Rutter's 429 rate limit itself.

Rutter counts every request (polls included) against 500 requests per 10 seconds per
organisation. A bucket of capacity ``burst`` refilled at ``rate`` lets through at most
``burst + rate * W`` requests in any window of ``W`` seconds, so we refill slightly below the
limit and keep the burst small: ``burst + rate * (per + slack) <= requests``, where
``slack`` absorbs the difference between when we send and when the server counts.
With the defaults, 500/10s becomes 47 requests a second with a burst of 5 (at most 480 in
any 10.1 s window, 499 in any 10.5 s window). When a 429 comes anyway (another process of
the same organisation, a server that counts differently) the bucket pauses for
``Retry-After``, cuts its rate and recovers linearly over one window.

One bucket is shared by submits and polls; it is thread-safe and usable from asyncio::

    bucket = TokenBucket("500/10s")
    await bucket.acquire()      # in a coroutine
    bucket.acquire_blocking()   # in a thread
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimit", "RateLimitError", "TokenBucket"]

_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*([a-z]*)\s*$")

# The cut applied on each 429 and the floor below which we never go [ours].
_BACKOFF = 0.7
_MIN_FRACTION = 0.05
_DEFAULT_PAUSE = 1.0  # seconds, when a 429 carries no usable Retry-After


class RateLimitError(ValueError):
    """A rate-limit specification that cannot be understood."""


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``per`` seconds, e.g. ``RateLimit.parse("500/10s")``."""

    requests: int
    per: float

    def __post_init__(self) -> None:
        if self.requests < 1 or not math.isfinite(self.per) or self.per <= 0:
            raise RateLimitError(
                f"a rate limit needs at least 1 request per a positive period, "
                f"got {self.requests}/{self.per}s"
            )

    @classmethod
    def parse(cls, spec: str | RateLimit) -> RateLimit:
        """Read ``"500/10s"``, ``"500/10"``, ``"50/s"``, ``"3000/1m"``."""
        if isinstance(spec, RateLimit):
            return spec
        if not isinstance(spec, str):
            raise RateLimitError(f"rate limit must be a string like '500/10s', not {spec!r}")
        match = _PATTERN.match(spec.lower())
        if match is None or match.group(3) not in _UNITS:
            raise RateLimitError(f"rate limit must look like '500/10s', got {spec!r}")
        count, amount, unit = match.groups()
        seconds = (float(amount) if amount else 1.0) * _UNITS[unit]
        return cls(int(count), seconds)

    @property
    def per_second(self) -> float:
        return self.requests / self.per

    def __str__(self) -> str:
        return f"{self.requests}/{self.per:g}s"


class TokenBucket:
    """Shared, adaptive token bucket; callers reserve a slot and sleep until it comes.

    Reservations may drive the token count negative: each caller then waits its turn, so
    waiters are served in order and never wake together. A 429 (:meth:`on_429`) adds a debt
    equal to the pause, and callers who were already sleeping reserve again.
    """

    def __init__(
        self,
        limit: str | RateLimit = "500/10s",
        *,
        headroom: float = 0.06,
        burst: int | None = None,
        slack: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = RateLimit.parse(limit)
        if not 0 <= headroom < 1:
            raise RateLimitError(f"headroom must be in [0, 1), got {headroom!r}")
        if slack < 0:
            raise RateLimitError(f"slack must be >= 0 seconds, got {slack!r}")
        if burst is None:
            burst = max(1, min(5, self.limit.requests // 100))
        if not 1 <= burst < self.limit.requests:
            raise RateLimitError(
                f"burst must be at least 1 and below {self.limit.requests}, got {burst!r}"
            )
        self.burst = burst
        # Both bounds: a little under the limit, and never more than `requests` in any
        # window of `per + slack` seconds even when the bucket starts full.
        self.base_rate = min(
            self.limit.per_second * (1 - headroom),
            (self.limit.requests - burst) / (self.limit.per + slack),
        )
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = clock()
        self._cut_rate = self.base_rate  # rate right after the last 429
        self._cut_at = -math.inf
        self._epoch = 0
        self.acquired = 0
        self.throttled = 0

    # -- state ----------------------------------------------------------------------------

    @property
    def rate(self) -> float:
        """Current refill rate in requests per second (below ``base_rate`` after a 429)."""
        with self._lock:
            return self._rate_at(self._clock())

    def _rate_at(self, now: float) -> float:
        elapsed = now - self._cut_at
        if elapsed >= self.limit.per:
            return self.base_rate
        recovered = (self.base_rate - self._cut_rate) * max(0.0, elapsed) / self.limit.per
        return self._cut_rate + recovered

    def _refill(self, now: float) -> float:
        rate = self._rate_at(now)
        if now > self._last:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * rate)
            self._last = now
        return rate

    def _reserve(self) -> tuple[float, int]:
        """Take one token now; return how long to wait for it and the 429 epoch."""
        with self._lock:
            now = self._clock()
            rate = self._refill(now)
            self._tokens -= 1.0
            self.acquired += 1
            wait = 0.0 if self._tokens >= 0 else -self._tokens / rate
            return wait, self._epoch

    def _refund(self, epoch: int) -> None:
        with self._lock:
            self.acquired -= 1
            if epoch == self._epoch:
                self._tokens = min(float(self.burst), self._tokens + 1.0)

    # -- acquiring ----------------------------------------------------------------------

    def try_acquire(self) -> bool:
        """Take a token only if one is free right now."""
        with self._lock:
            self._refill(self._clock())
            if self._tokens >= 1.0 - 1e-9:  # float refill may land a hair short
                self._tokens -= 1.0
                self.acquired += 1
                return True
            return False

    async def acquire(self) -> None:
        """Wait (asynchronously) for the right to send one request."""
        while True:
            wait, epoch = self._reserve()
            try:
                if wait > 0:
                    await asyncio.sleep(wait)
            except asyncio.CancelledError:
                self._refund(epoch)
                raise
            if epoch == self._epoch:
                return
            # A 429 arrived while we slept: our slot may fall inside the pause. Reserve
            # again (the old slot is not given back, which only errs on the safe side).

    def acquire_blocking(self) -> None:
        """Wait (blocking this thread) for the right to send one request."""
        while True:
            wait, epoch = self._reserve()
            if wait > 0:
                time.sleep(wait)
            if epoch == self._epoch:
                return

    # -- feedback ----------------------------------------------------------------------

    def on_429(self, retry_after: float | None = None) -> None:
        """The server refused a request: pause for ``retry_after`` and slow down."""
        pause = retry_after if retry_after is not None and 0 <= retry_after < 3600 else None
        if pause is None:
            pause = _DEFAULT_PAUSE
        with self._lock:
            now = self._clock()
            rate = self._refill(now)
            self._cut_rate = max(self.base_rate * _MIN_FRACTION, rate * _BACKOFF)
            self._cut_at = now + pause  # recovery starts once the pause is over
            # Turn the pause into a debt: nobody gets a slot before it has been paid off.
            self._tokens = min(self._tokens, 0.0) - pause * self._cut_rate
            self._epoch += 1
            self.throttled += 1

    def __repr__(self) -> str:
        return (
            f"<TokenBucket {self.limit} rate={self.rate:.1f}/s burst={self.burst} "
            f"acquired={self.acquired} throttled={self.throttled}>"
        )
