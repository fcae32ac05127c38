"""polling: interval schedule, Retry-After, deadline (pure, fake clock)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rutter_nb.polling import KNOWN_STATUSES, TERMINAL_STATUSES, Deadline, PollPolicy


def test_statuses() -> None:
    assert "partial_success" in TERMINAL_STATUSES
    assert {"prequeued", "pending", "success", "failure", "partial_success"} == KNOWN_STATUSES


def test_interval_grows_to_a_cap() -> None:
    p = PollPolicy(initial=1.0, factor=2.0, max_interval=5.0, jitter=0.0)
    assert [p.interval(n) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_spreads_both_ways() -> None:
    p = PollPolicy(initial=1.0, factor=1.0, jitter=0.2)
    assert p.interval(0, rand=lambda: 0.0) == 0.8
    assert p.interval(0, rand=lambda: 1.0) == 1.2


def test_retry_after_wins_capped() -> None:
    p = PollPolicy(max_retry_after=30.0)
    assert p.interval(0, retry_after=7.0) == 7.0
    assert p.interval(9, retry_after=999.0) == 30.0


def test_default_deadline_is_bounded() -> None:
    assert PollPolicy().timeout is not None
    assert PollPolicy().poll_retry.max_retries >= 1


@given(st.integers(min_value=0, max_value=200), st.floats(min_value=0, max_value=1))
def test_interval_within_bounds(n: int, r: float) -> None:
    p = PollPolicy(initial=0.2, factor=1.5, max_interval=5.0, jitter=0.2)
    assert 0.0 <= p.interval(n, rand=lambda: r) <= 6.0


def test_deadline_with_fake_clock() -> None:
    now = [100.0]
    d = Deadline(10.0, clock=lambda: now[0])
    assert d.remaining() == 10.0 and not d.expired
    assert d.clamp(3.0) == 3.0
    now[0] = 108.0
    assert d.clamp(3.0) == 2.0
    now[0] = 110.0
    assert d.expired and d.remaining() == 0.0
    unlimited = Deadline(None)
    assert unlimited.remaining() is None and not unlimited.expired
    assert unlimited.clamp(4.0) == 4.0
