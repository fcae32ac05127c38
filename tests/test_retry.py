"""retry: which failures are retried, and how long to wait (pure, no sleeping)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rutter_nb.retry import RetryPolicy, parse_retry_after

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        ("-4", 0.0),
        ("Wed, 01 May 2024 12:00:30 GMT", 30.0),
        ("Wed, 01 May 2024 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_retryable_statuses() -> None:
    p = RetryPolicy()
    assert [
        s for s in (400, 401, 404, 409, 429, 450, 452, 500, 502, 503) if p.retryable_status(s)
    ] == [
        429,
        500,
        502,
        503,
    ]


def test_writes_are_retried_only_when_safe() -> None:
    p = RetryPolicy(max_retries=2)
    # a 5xx or a dropped connection after sending: only with an idempotency key
    assert not p.may_retry(0, status=500, safe=False)
    assert p.may_retry(0, status=500, safe=True)
    assert not p.may_retry(0, sent=True, safe=False)
    # nothing was accepted: always safe
    assert p.may_retry(0, status=429, safe=False)
    assert p.may_retry(0, sent=False, safe=False)
    # errors that are not transient are never retried
    assert not p.may_retry(0, status=400, safe=True)
    # the budget is respected
    assert not p.may_retry(2, status=500, safe=True)


def test_retry_after_wins_and_is_capped() -> None:
    p = RetryPolicy(max_retry_after=10)
    assert p.delay(0, 4.0) == 4.0
    assert p.delay(0, 3600.0) == 10.0


def test_backoff_is_exponential_capped_and_jittered() -> None:
    p = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.5)
    assert [p.delay(n, rand=lambda: 0.0) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert p.delay(1, rand=lambda: 1.0) == 1.0  # up to half removed


@given(st.integers(min_value=0, max_value=50), st.floats(min_value=0, max_value=1))
def test_delay_is_always_within_bounds(n: int, r: float) -> None:
    p = RetryPolicy(base_delay=0.5, max_delay=20, jitter=0.5)
    assert 0.0 <= p.delay(n, rand=lambda: r) <= 20.0
