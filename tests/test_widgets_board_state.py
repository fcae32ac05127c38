"""BoardState: incremental counts, rows that matter, percentiles, and O(rows) reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from widget_fakes import T0, FakeJob, fixed_clock

from rutter_nb.widgets.board_state import BoardState


def jobs_with(**counts: int) -> list[FakeJob]:
    jobs: list[FakeJob] = []
    for status, n in counts.items():
        for _ in range(n):
            job = FakeJob("pending")
            if status in ("success", "failure"):
                job.finish(status, duration=1.0 + len(jobs))
            else:
                job.update(status=status)
            jobs.append(job)
    return jobs


def test_counts_follow_status_changes() -> None:
    jobs = jobs_with(prequeued=2, pending=3)
    state = BoardState(jobs, clock=fixed_clock())
    state.sync()
    assert state.snapshot().counts == {
        "success": 0,
        "failure": 0,
        "partial_success": 0,
        "prequeued": 2,
        "pending": 3,
    }

    jobs[0].finish("success")
    jobs[3].finish("failure")
    snap = state.snapshot()

    assert (snap.counts["success"], snap.counts["failure"], snap.counts["pending"]) == (1, 1, 2)
    assert (snap.done, snap.total, snap.finished) == (2, 5, False)


def test_unknown_statuses_are_counted_and_shown_with_failures() -> None:
    jobs = jobs_with(pending=1)
    state = BoardState(jobs, clock=fixed_clock())
    state.sync()
    jobs[0].update(status="exploded")
    snap = state.snapshot("failure")
    assert snap.counts["exploded"] == 1
    assert [r.status for r in snap.rows] == ["exploded"]


def test_rows_put_failures_first_then_running_then_latest_successes() -> None:
    jobs = jobs_with(success=3, pending=2, failure=2)
    state = BoardState(jobs, clock=fixed_clock())
    state.sync()

    rows = state.snapshot().rows

    assert [r.status for r in rows] == ["failure"] * 2 + ["pending"] * 2 + ["success"] * 3
    assert [r.id for r in rows[-3:]] == [jobs[2].id, jobs[1].id, jobs[0].id]


def test_rows_are_capped_but_matching_counts_everything() -> None:
    jobs = jobs_with(pending=500)
    state = BoardState(jobs, max_rows=20, clock=fixed_clock())
    state.sync()
    snap = state.snapshot()
    assert len(snap.rows) == 20 and snap.matching == 500


def test_the_status_filter_selects_rows() -> None:
    jobs = jobs_with(success=2, pending=2, prequeued=1, failure=1)
    state = BoardState(jobs, clock=fixed_clock())
    state.sync()
    assert {r.status for r in state.snapshot("running").rows} == {"pending", "prequeued"}
    assert state.snapshot("running").matching == 3
    assert {r.status for r in state.snapshot("success").rows} == {"success"}
    with pytest.raises(ValueError, match="unknown status filter"):
        state.snapshot("bogus")


def test_percentiles_throughput_and_eta() -> None:
    jobs = [FakeJob("pending") for _ in range(10)]
    now = T0 + timedelta(seconds=5)
    state = BoardState(jobs, clock=lambda: now)
    state.sync()
    for i, job in enumerate(jobs[:4]):
        job.finish("success", duration=float(i + 1))  # 1, 2, 3, 4 s

    snap = state.snapshot()

    assert snap.percentiles == {"p50": 2.0, "p90": 4.0, "p99": 4.0, "max": 4.0}
    assert snap.elapsed == pytest.approx(5.0)
    assert snap.throughput == pytest.approx(4 / 5)
    assert snap.eta == pytest.approx(6 / (4 / 5))


def test_finished_when_every_job_is_terminal() -> None:
    jobs = jobs_with(pending=2)
    state = BoardState(jobs, clock=fixed_clock(T0 + timedelta(seconds=60)))
    state.sync()
    jobs[0].finish("success", duration=1.0)
    assert not state.finished()
    jobs[1].finish("failure", duration=2.0)
    snap = state.snapshot()
    assert state.finished() and snap.finished and snap.eta is None
    assert snap.elapsed == pytest.approx(2.0)  # first submit to last completion, not to now


def test_jobs_appended_later_are_adopted() -> None:
    jobs: list[FakeJob] = []
    state = BoardState(jobs, clock=fixed_clock())
    assert state.sync() == 0 and not state.finished()
    jobs.extend(jobs_with(pending=3))
    assert state.sync() == 3
    assert state.snapshot().counts["pending"] == 3


def test_an_expected_total_keeps_the_board_open() -> None:
    class Batch:
        def __init__(self) -> None:
            self.jobs = jobs_with(success=2)
            self.total = 5

    state = BoardState(Batch(), clock=fixed_clock())
    state.sync()
    snap = state.snapshot()
    assert (snap.done, snap.total, snap.finished) == (2, 5, False)


def test_a_source_that_says_it_finished_ends_the_board() -> None:
    class CancelledBatch:
        def __init__(self) -> None:
            self.jobs = jobs_with(success=1, pending=1)
            self.total = 10
            self.finished = False

    batch = CancelledBatch()
    state = BoardState(batch, clock=fixed_clock())
    assert not state.finished()
    batch.finished = True
    assert state.finished()


def test_finished_adopts_jobs_appended_since_the_last_look() -> None:
    jobs = jobs_with(success=1)
    state = BoardState(jobs, clock=fixed_clock())
    state.sync()
    assert state.finished()
    jobs.extend(jobs_with(pending=1))
    assert not state.finished()


def test_a_wrong_source_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="list of jobs"):
        BoardState(42)
    with pytest.raises(ValueError, match="max_rows"):
        BoardState([], max_rows=0)


def test_close_unsubscribes_from_every_job() -> None:
    jobs = jobs_with(pending=3)
    state = BoardState(jobs, clock=fixed_clock())
    state.sync()
    assert all(j.listeners == 1 for j in jobs)
    state.close()
    assert all(j.listeners == 0 for j in jobs)


class CountingJob(FakeJob):
    reads = 0

    def __getattribute__(self, name: str) -> Any:
        if name in ("duration", "http_status", "error", "entity"):
            type(self).reads += 1
        return super().__getattribute__(name)


def test_a_snapshot_reads_only_the_rows_it_shows() -> None:
    jobs = [CountingJob("pending") for _ in range(5000)]
    state = BoardState(jobs, max_rows=10, clock=fixed_clock())
    state.sync()
    CountingJob.reads = 0

    state.snapshot()

    assert 0 < CountingJob.reads <= 10 * 4
