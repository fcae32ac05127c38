"""Polling schedule for jobs: jittered exponential intervals, a cap, one overall deadline.

Pure: the waiting loops in :mod:`rutter_nb.jobs` ask this module how long to sleep and
whether time is up, so the schedule is tested without sleeping.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rutter_nb.retry import RetryPolicy

__all__ = ["KNOWN_STATUSES", "TERMINAL_STATUSES", "Deadline", "PollPolicy"]

TERMINAL_STATUSES = frozenset({"success", "failure", "partial_success"})
KNOWN_STATUSES = frozenset({"prequeued", "pending"}) | TERMINAL_STATUSES


@dataclass(frozen=True)
class PollPolicy:
    """When to ask ``GET /jobs/:id`` again, and for how long in total.

    ``timeout`` bounds a ``wait()`` that is given none (ten minutes by default, so a stuck
    job never blocks a notebook forever). ``poll_retry`` governs failed poll requests
    (transport errors, 429, 5xx) separately from the job's own progress.
    """

    initial: float = 0.2
    factor: float = 1.5
    max_interval: float = 5.0
    jitter: float = 0.2
    max_retry_after: float = 60.0
    timeout: float | None = 600.0
    poll_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_retries=5))

    def interval(
        self,
        polls_done: int,
        retry_after: float | None = None,
        *,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Seconds before poll number ``polls_done + 1``.

        ``Retry-After`` wins when the server sent one (capped at ``max_retry_after``);
        otherwise ``initial * factor**n`` capped at ``max_interval``, jittered by
        ``±jitter`` so that many jobs polled together spread out.
        """
        if retry_after is not None:
            return min(max(0.0, retry_after), self.max_retry_after)
        base = min(self.max_interval, self.initial * (self.factor**polls_done))
        return max(0.0, base * (1.0 + self.jitter * (2.0 * rand() - 1.0)))


class Deadline:
    """A point on the monotonic clock; ``None`` means no limit."""

    def __init__(self, timeout: float | None, *, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.timeout = timeout
        self._end = None if timeout is None else clock() + max(0.0, timeout)

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None without a limit."""
        return None if self._end is None else max(0.0, self._end - self._clock())

    @property
    def expired(self) -> bool:
        return self._end is not None and self._clock() >= self._end

    def clamp(self, seconds: float) -> float:
        """``seconds`` shortened so that a sleep never overshoots the deadline."""
        left = self.remaining()
        return seconds if left is None else min(seconds, left)
