"""status_counts, latency_percentiles and throughput on known jobs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from rutter_nb.frames import (
    jobs_frame,
    latency_percentiles,
    sample_jobs,
    status_counts,
    throughput,
)


def timed_job(job_id: str, status: str, submitted: str, completed: str | None) -> dict[str, Any]:
    return {
        "id": job_id,
        "status": status,
        "request": {"method": "POST", "url": "/accounting/invoices", "body": {"invoice": {}}},
        "client": {"submitted_at": submitted, "completed_at": completed, "entity": "invoice"},
    }


def test_status_counts_lists_every_status_with_zeros() -> None:
    jobs = [
        timed_job("a", "success", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"),
        timed_job("b", "success", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"),
        timed_job("c", "pending", "2026-01-01T00:00:00Z", None),
    ]

    counts = status_counts(jobs)

    assert counts.to_dict() == {
        "prequeued": 0,
        "pending": 1,
        "success": 2,
        "partial_success": 0,
        "failure": 0,
    }
    assert counts.dtype == np.int64


def test_status_counts_of_an_empty_batch_and_an_unknown_status() -> None:
    assert status_counts([]).sum() == 0
    odd = status_counts([timed_job("a", "exploded", "2026-01-01T00:00:00Z", None)])
    assert odd["exploded"] == 1
    assert list(odd.index[:5]) == ["prequeued", "pending", "success", "partial_success", "failure"]


def test_latency_percentiles_match_numpy_per_entity_and_status() -> None:
    jobs = sample_jobs(400, failure_rate=0.2, seed=21)
    frame = jobs_frame(jobs, entities="invoice")

    stats = latency_percentiles(frame, percentiles=(0.5, 0.95))

    assert list(stats.columns) == ["jobs", "timed", "mean_s", "p50", "p95", "max_s"]
    for status in ("success", "failure"):
        durations = [j["client"]["duration"] for j in jobs if j["status"] == status]
        row = stats.loc[("invoice", status)]
        assert row["jobs"] == row["timed"] == len(durations)
        assert row["p50"] == pytest.approx(np.quantile(durations, 0.5))
        assert row["p95"] == pytest.approx(np.quantile(durations, 0.95))
        assert row["max_s"] == max(durations)


def test_latency_percentiles_leave_untimed_jobs_out_of_the_statistics() -> None:
    jobs = [
        timed_job("a", "success", "2026-01-01T00:00:00Z", "2026-01-01T00:00:02Z"),
        timed_job("b", "success", "2026-01-01T00:00:00Z", "2026-01-01T00:00:04Z"),
        timed_job("c", "pending", "2026-01-01T00:00:00Z", None),
    ]

    stats = latency_percentiles(jobs, percentiles=(0.5,), by=("status",))

    assert stats.loc["success", "p50"] == 3.0
    assert stats.loc["pending", "jobs"] == 1
    assert stats.loc["pending", "timed"] == 0


def test_latency_percentiles_reject_percent_numbers_and_foreign_frames() -> None:
    with pytest.raises(ValueError, match="fractions between 0 and 1"):
        latency_percentiles([], percentiles=(95,))
    with pytest.raises(ValueError, match="lacks duration_s"):
        latency_percentiles(pd.DataFrame({"entity": [], "status": []}))


def test_throughput_counts_completions_per_minute_with_empty_minutes_as_zero() -> None:
    jobs = [
        timed_job("a", "success", "2026-01-01T10:00:00Z", "2026-01-01T10:00:10Z"),
        timed_job("b", "failure", "2026-01-01T10:00:00Z", "2026-01-01T10:00:50Z"),
        timed_job("c", "success", "2026-01-01T10:00:00Z", "2026-01-01T10:03:05Z"),
        timed_job("d", "pending", "2026-01-01T10:00:00Z", None),
    ]

    per_minute = throughput(jobs)

    assert list(per_minute.columns) == ["success", "partial_success", "failure", "total"]
    assert list(per_minute.index) == list(
        pd.date_range("2026-01-01T10:00:00Z", periods=4, freq="1min")
    )
    assert per_minute["total"].tolist() == [2, 0, 0, 1]
    assert per_minute["failure"].tolist() == [1, 0, 0, 0]


def test_throughput_of_a_large_sample_adds_up_to_the_finished_jobs() -> None:
    jobs = sample_jobs(3_000, seed=22, per_minute=600)

    per_minute = throughput(jobs)

    assert per_minute["total"].sum() == 3_000
    assert per_minute["success"].sum() == sum(j["status"] == "success" for j in jobs)
    assert per_minute.index.is_monotonic_increasing
    assert len(per_minute) >= 5


def test_throughput_of_nothing_finished_is_an_empty_frame_with_the_columns() -> None:
    empty = throughput([timed_job("a", "pending", "2026-01-01T00:00:00Z", None)])

    assert len(empty) == 0
    assert list(empty.columns) == ["success", "partial_success", "failure", "total"]
