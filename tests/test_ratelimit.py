"""rutter_nb.ratelimit: the shared client-side token bucket."""

from __future__ import annotations

import asyncio
import bisect
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rutter_nb.ratelimit import RateLimit, RateLimitError, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(
        (bisect.bisect_left(times, t + window) - i for i, t in enumerate(times)),
        default=0,
    )


# -- RateLimit --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "requests", "per"),
    [("500/10s", 500, 10.0), ("500/10", 500, 10.0), ("50/s", 50, 1.0), ("3000/1m", 3000, 60.0)],
)
def test_parse_accepts_common_spellings(spec: str, requests: int, per: float) -> None:
    assert RateLimit.parse(spec) == RateLimit(requests, per)


@pytest.mark.parametrize("spec", ["", "500", "fast", "500/10y", "0/10s", "5/0s", "-1/2s"])
def test_parse_rejects_nonsense_with_typed_error(spec: str) -> None:
    with pytest.raises(RateLimitError):
        RateLimit.parse(spec)


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(RateLimitError, match="500/10s"):
        RateLimit.parse(500)  # type: ignore[arg-type]


# -- TokenBucket ------------------------------------------------------------------------


def test_defaults_for_rutter_limit_stay_below_it() -> None:
    bucket = TokenBucket("500/10s")
    assert bucket.burst == 5
    assert bucket.base_rate == pytest.approx(47.0)
    assert bucket.burst + bucket.base_rate * 10.5 <= 500


def test_bad_parameters_raise_typed_errors() -> None:
    with pytest.raises(RateLimitError):
        TokenBucket("10/1s", burst=10)
    with pytest.raises(RateLimitError):
        TokenBucket("10/1s", headroom=1.0)
    with pytest.raises(RateLimitError):
        TokenBucket("10/1s", slack=-1)


def test_starts_with_burst_then_refills_at_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket("100/1s", headroom=0.0, slack=0.0, burst=2, clock=clock)
    assert bucket.base_rate == pytest.approx(98.0)
    assert [bucket.try_acquire() for _ in range(3)] == [True, True, False]
    clock.now += 1 / 98.0
    assert bucket.try_acquire() is True
    assert bucket.try_acquire() is False


def test_waiters_queue_in_order_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket("10/1s", headroom=0.0, slack=0.0, burst=1, clock=clock)
    waits = [bucket._reserve()[0] for _ in range(4)]
    assert waits == pytest.approx([0.0, 1 / 9, 2 / 9, 3 / 9])


@settings(max_examples=60, deadline=None)
@given(
    requests=st.integers(min_value=2, max_value=600),
    per=st.sampled_from([1.0, 2.0, 10.0]),
    arrivals=st.lists(st.floats(min_value=0, max_value=30), min_size=1, max_size=400),
)
def test_no_window_ever_exceeds_the_limit(requests: int, per: float, arrivals: list[float]) -> None:
    """Callers arriving at arbitrary times get slots; no `per` window holds too many."""
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(requests, per), clock=clock)
    start = clock.now
    granted = []
    for offset in sorted(arrivals):
        clock.now = start + offset
        wait, _ = bucket._reserve()
        granted.append(clock.now + wait)
    assert _max_in_window(granted, per) <= requests


def test_429_pauses_and_slows_down_then_recovers() -> None:
    clock = FakeClock()
    bucket = TokenBucket("100/1s", headroom=0.0, slack=0.0, burst=1, clock=clock)
    base = bucket.base_rate
    bucket.on_429(retry_after=2.0)
    assert bucket.throttled == 1
    wait, _ = bucket._reserve()
    assert wait >= 2.0  # nothing goes out during the pause
    assert bucket.rate == pytest.approx(base * 0.7)
    clock.now += 2.0 + 0.5  # half a window after the pause
    assert base * 0.7 < bucket.rate < base
    clock.now += 1.0
    assert bucket.rate == pytest.approx(base)


def test_429_without_retry_after_still_pauses() -> None:
    clock = FakeClock()
    bucket = TokenBucket("100/1s", clock=clock)
    bucket.on_429(None)
    assert bucket._reserve()[0] >= 1.0


def test_repeated_429s_never_stop_the_bucket() -> None:
    clock = FakeClock()
    bucket = TokenBucket("100/1s", clock=clock)
    for _ in range(50):
        bucket.on_429(0.0)
    assert bucket.rate >= bucket.base_rate * 0.05


def test_async_acquire_keeps_to_the_rate_over_real_time() -> None:
    bucket = TokenBucket("40/1s", headroom=0.0, slack=0.0, burst=1)

    async def main() -> list[float]:
        stamps: list[float] = []

        async def one() -> None:
            await bucket.acquire()
            stamps.append(time.monotonic())

        await asyncio.gather(*(one() for _ in range(30)))
        return stamps

    stamps = asyncio.run(main())
    assert len(stamps) == 30
    # 29 intervals of 1/39 s at least: a slow machine can only make this longer.
    assert max(stamps) - min(stamps) >= 29 / 39 - 0.02


def test_sleepers_reserve_again_after_a_429() -> None:
    bucket = TokenBucket("20/1s", headroom=0.0, slack=0.0, burst=1)

    async def main() -> float:
        started = time.monotonic()
        first = asyncio.ensure_future(bucket.acquire())
        await first
        waiter = asyncio.ensure_future(bucket.acquire())  # due ~1/19 s from now
        await asyncio.sleep(0)
        bucket.on_429(retry_after=0.5)
        await waiter
        return time.monotonic() - started

    assert asyncio.run(main()) >= 0.5


def test_cancelled_waiter_gives_its_slot_back() -> None:
    clock = FakeClock()
    bucket = TokenBucket("10/1s", burst=1, clock=clock)

    async def main() -> None:
        assert bucket.try_acquire()
        task = asyncio.ensure_future(bucket.acquire())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert bucket.acquired == 1
    clock.now += 1 / bucket.base_rate
    assert bucket.try_acquire()


def test_blocking_acquire_is_shared_safely_between_threads() -> None:
    bucket = TokenBucket("50/1s", headroom=0.0, slack=0.0, burst=1)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            bucket.acquire_blocking()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stamps) == 20
    assert bucket.acquired == 20
    assert max(stamps) - min(stamps) >= 19 / 49 - 0.02
