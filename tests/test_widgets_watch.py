"""watch_job / BatchBoard.watch outside a kernel: background polling, stop, interrupts."""

from __future__ import annotations

import io
import threading
import time
from types import SimpleNamespace

import pytest
from widget_fakes import CommLog, FakeJob, record_comms

from rutter_nb.widgets import BatchBoard, active_watches, in_kernel, job_mimebundle, watch_job
from rutter_nb.widgets.watch import _after_cell, watch_board


@pytest.fixture
def comm_log(monkeypatch: pytest.MonkeyPatch) -> CommLog:
    return record_comms(monkeypatch)


def test_tests_run_outside_a_kernel() -> None:
    assert not in_kernel()


def test_watch_polls_in_the_background_until_the_job_finishes() -> None:
    job = FakeJob("pending", script=[{}, {"status": "pending"}, {"status": "success"}])
    stream = io.StringIO()

    watch = watch_job(job, interval=0.01, stream=stream)

    assert watch.wait(timeout=30)
    assert job.refreshes == 3 and watch.done and not watch.stopped
    assert stream.getvalue().splitlines()[-1].endswith("success · 1.50 s · 3 polls")
    assert watch not in active_watches()


def test_stop_ends_polling_and_drawing() -> None:
    job = FakeJob("pending")  # never finishes
    watch = watch_job(job, interval=0.01, max_interval=0.01, stream=io.StringIO())
    deadline = time.monotonic() + 30
    while job.refreshes < 3 and time.monotonic() < deadline:
        time.sleep(0.01)

    watch.stop()
    assert watch._poller is not None and not watch._poller.is_alive()
    after = job.refreshes
    time.sleep(0.1)

    assert job.refreshes == after and watch.stopped and watch.done
    assert watch not in active_watches()


def test_stop_returns_only_after_a_poll_in_flight_has_landed() -> None:
    started, release = threading.Event(), threading.Event()

    class Slow(FakeJob):
        def refresh(self) -> None:
            started.set()
            release.wait(10)
            super().refresh()

    job = Slow("pending")
    watch = watch_job(job, interval=0.01, stream=io.StringIO())
    assert started.wait(10)
    threading.Timer(0.2, release.set).start()

    watch.stop()  # the refresh is still blocked when stop() is called

    assert job.refreshes == 1 and release.is_set()
    assert watch._poller is not None and not watch._poller.is_alive()


def test_a_kernel_interrupt_stops_every_active_watch() -> None:
    jobs = [FakeJob("pending"), FakeJob("pending")]
    watches = [watch_job(j, interval=0.01, stream=io.StringIO()) for j in jobs]

    _after_cell(SimpleNamespace(error_in_exec=ValueError("not an interrupt")))
    assert not any(w.stopped for w in watches)
    _after_cell(SimpleNamespace(error_in_exec=KeyboardInterrupt()))

    assert all(w.stopped for w in watches)
    assert active_watches() == []


def test_an_unknown_status_ends_the_watch_instead_of_polling_forever() -> None:
    job = FakeJob("pending", script=[{"status": "on_fire"}, {}, {}, {}])
    watch = watch_job(job, interval=0.01, stream=io.StringIO())
    assert watch.wait(timeout=30)
    assert job.refreshes == 1


def test_a_failing_poll_is_recorded_redacted_and_polling_goes_on() -> None:
    class Flaky(FakeJob):
        def refresh(self) -> None:
            if self.refreshes == 0:
                self.refreshes += 1
                raise ConnectionError("reset; access_token=tok-SECRET-123")
            super().refresh()

    job = Flaky("pending", script=[{"status": "success"}])
    watch = watch_job(job, interval=0.01, stream=io.StringIO())
    assert watch.wait(timeout=30)
    assert len(watch.errors) == 1 and "ConnectionError" in watch.errors[0]
    assert "tok-SECRET-123" not in watch.errors[0]


def test_board_watch_polls_a_plain_list_of_jobs(comm_log: CommLog) -> None:
    jobs = [
        FakeJob("prequeued", script=[{"status": "pending"}, {"status": "success"}])
        for _ in range(20)
    ]
    jobs.append(FakeJob("pending", script=[{"status": "failure"}]))
    board = BatchBoard(jobs)
    stream = io.StringIO()

    watch = watch_board(board, poll_rate=1000.0, stream=stream)

    assert watch.wait(timeout=60)
    assert all(j.done for j in jobs)
    assert board.finished and board._progress.value == 21
    assert stream.getvalue().splitlines()[-1].startswith("21 jobs · 20 success, 1 failure · 100%")


def test_board_watch_leaves_a_batch_to_poll_its_own_jobs(comm_log: CommLog) -> None:
    batch = SimpleNamespace(jobs=[FakeJob("pending")])
    watch = BatchBoard(batch).watch()
    time.sleep(0.3)
    assert batch.jobs[0].refreshes == 0 and watch._poller is None
    batch.jobs[0].finish("success")
    assert watch.wait(timeout=30)


def test_job_mimebundle_outside_a_kernel_is_static_and_redacted() -> None:
    job = FakeJob("pending", body={"client_secret": "hunter2-secret"})
    bundle = job_mimebundle(job)
    assert set(bundle) == {"text/html", "text/plain"}
    assert "hunter2-secret" not in repr(bundle) and "tok-SECRET-123" not in repr(bundle)
    assert set(job_mimebundle(job, include={"text/plain"})) == {"text/plain"}


def test_bad_arguments_get_clear_errors() -> None:
    with pytest.raises(TypeError, match="watch_job needs a rutter_nb Job"):
        watch_job(object())
    board = BatchBoard([])
    with pytest.raises(ValueError, match="poll_rate"):
        board.watch(poll_rate=0)
    board.stop()
    assert board.finished
