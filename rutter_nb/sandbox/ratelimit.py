"""Token buckets: Rutter's per-organisation request limit and each platform's write pace.

Pure functions of an injected clock value, so tests can drive time exactly.
"""

from __future__ import annotations


class TokenBucket:
    """`capacity` tokens refilled evenly over `window` seconds (N/SECONDS)."""

    def __init__(self, capacity: int, window: float, now: float) -> None:
        self.capacity = capacity
        self.window = window
        self._rate = capacity / window
        self._tokens = float(capacity)
        self._stamp = now

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now

    def take(self, now: float) -> float:
        """Take one token: 0.0 on success, else the seconds until one is available."""
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self._rate

    def wait_time(self, now: float) -> float:
        """Seconds until a token is available, without taking one."""
        self._refill(now)
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self._rate


class BucketMap:
    """One bucket per key (a client id, a connection), all with the same rate."""

    def __init__(self, rate: tuple[int, float]) -> None:
        self.rate = rate
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, key: str, now: float) -> TokenBucket:
        """The key's bucket, created full on first use."""
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = TokenBucket(self.rate[0], self.rate[1], now)
        return found

    def take(self, key: str, now: float) -> float:
        """Take a token from the key's bucket (see `TokenBucket.take`)."""
        return self.bucket(key, now).take(now)
