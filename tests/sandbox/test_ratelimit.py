"""Token buckets driven by an explicit clock."""

from __future__ import annotations

import pytest

from rutter_nb.sandbox.ratelimit import BucketMap, TokenBucket


def test_bucket_allows_a_burst_then_paces() -> None:
    bucket = TokenBucket(5, 10.0, now=0.0)
    assert [bucket.take(0.0) for _ in range(5)] == [0.0] * 5
    assert bucket.take(0.0) == pytest.approx(2.0)  # one token per 2 s
    assert bucket.take(1.0) == pytest.approx(1.0)
    assert bucket.take(2.0) == 0.0
    assert bucket.wait_time(2.0) == pytest.approx(2.0)


def test_bucket_never_holds_more_than_capacity() -> None:
    bucket = TokenBucket(2, 1.0, now=0.0)
    bucket.take(0.0)
    taken = [bucket.take(1000.0) for _ in range(3)]
    assert taken[:2] == [0.0, 0.0] and taken[2] > 0


def test_bucket_map_keeps_one_bucket_per_key() -> None:
    buckets = BucketMap((1, 60.0))
    assert buckets.take("a", 0.0) == 0.0
    assert buckets.take("a", 0.0) > 0
    assert buckets.take("b", 0.0) == 0.0
