"""BatchBoard: a fixed number of messages per render, at most four renders a second."""

from __future__ import annotations

import random
import threading
import time

import pytest
from widget_fakes import CommLog, FakeJob, ManualRenderer, fixed_clock, record_comms

from rutter_nb.widgets import BatchBoard, JobView
from rutter_nb.widgets.live import WIDGET_MIME
from rutter_nb.widgets.render import Renderer

WIDGETS_REDRAWN = 3  # summary, progress bar, rows table


@pytest.fixture
def comm_log(monkeypatch: pytest.MonkeyPatch) -> CommLog:
    return record_comms(monkeypatch)


def manual_board(jobs: list[FakeJob], **kwargs: object) -> tuple[BatchBoard, ManualRenderer]:
    renderer = ManualRenderer()
    board = BatchBoard(jobs, renderer=renderer, clock=fixed_clock(), **kwargs)  # type: ignore[arg-type]
    return board, renderer


def test_one_render_sends_one_message_per_changed_widget(comm_log: CommLog) -> None:
    jobs = [FakeJob("pending") for _ in range(100)]
    board, renderer = manual_board(jobs)
    comm_log.clear()

    jobs[0].finish("failure")
    renderer.tick()

    ids = [cid for cid, _ in comm_log.updates()]
    assert sorted(ids) == sorted(
        w.comm.comm_id for w in (board._summary, board._progress, board._rows)
    )
    assert board.renders == 2


def test_no_message_when_nothing_changed(comm_log: CommLog) -> None:
    board, renderer = manual_board([FakeJob("pending") for _ in range(100)])
    comm_log.clear()
    for _ in range(10):
        renderer.tick()
    assert comm_log.count() == 0 and board.renders == 1


def test_the_table_is_one_widget_whatever_the_number_of_jobs(comm_log: CommLog) -> None:
    manual_board([FakeJob("pending") for _ in range(10)], max_rows=5)
    n_small = len({cid for cid, _, _ in comm_log.messages})
    comm_log.clear()
    big, _ = manual_board([FakeJob("pending") for _ in range(3000)], max_rows=5)
    n_big = len({cid for cid, _, _ in comm_log.messages})
    assert n_small == n_big  # same widget models for 10 and 3000 jobs
    assert len(big._rows.options) == 5


def test_finishing_the_board_stops_it(comm_log: CommLog) -> None:
    jobs = [FakeJob("pending") for _ in range(3)]
    board, renderer = manual_board(jobs)
    for job in jobs:
        job.finish("success")
    renderer.tick()
    assert board.finished and renderer.views == []
    assert board._progress.value == 3 and board._progress.bar_style == "success"
    assert all(j.listeners == 0 for j in jobs)


def test_clicking_a_row_opens_that_jobs_view(comm_log: CommLog) -> None:
    jobs = [FakeJob("pending") for _ in range(5)]
    jobs[3].finish("failure")
    board, _ = manual_board(jobs)

    board._rows.index = 0  # what the front end sends when the first row is clicked

    assert isinstance(board.opened, JobView) and board.opened.job is jobs[3]
    assert board._rows.index is None  # nothing stays selected: the next click works too
    (output,) = board._detail.outputs
    assert output["data"][WIDGET_MIME]["model_id"] == board.opened.widget.model_id


def test_the_filter_redraws_the_table(comm_log: CommLog) -> None:
    jobs = [FakeJob("pending") for _ in range(4)]
    jobs[0].finish("success")
    board, renderer = manual_board(jobs)
    board._filter.value = "success"
    renderer.tick()
    assert [label.split()[0] for label in board._rows._options_labels] == ["success"]


def test_bundle_and_text(comm_log: CommLog) -> None:
    jobs = [FakeJob("pending") for _ in range(4)]
    jobs[0].finish("success")
    board, _ = manual_board(jobs)
    bundle = board._repr_mimebundle_()
    assert set(bundle) == {WIDGET_MIME, "text/html", "text/plain"}
    assert 'data-done="1"' in bundle["text/html"] and 'data-total="4"' in bundle["text/html"]
    assert bundle["text/plain"].startswith("4 jobs · 1 success, 3 pending · 25%")


@pytest.mark.slow
def test_ten_thousand_jobs_changing_for_ten_seconds(comm_log: CommLog) -> None:
    """The issue's budget: <= 4 renders/s and a fixed number of messages per render."""
    jobs = [FakeJob("prequeued", submitted_at=None) for _ in range(10_000)]
    renderer = Renderer(interval=0.25)
    board = BatchBoard(jobs, renderer=renderer)
    per_render: list[int] = []
    draw = board._render

    def counted_render() -> None:
        before = comm_log.count()
        draw()
        per_render.append(comm_log.count() - before)

    board._render = counted_render  # type: ignore[method-assign]
    rng = random.Random(4)
    order = list(range(len(jobs)))
    rng.shuffle(order)
    duration, steps = 10.0, 200

    def mutate() -> None:
        # Every job goes prequeued -> pending -> success/failure, spread over 10 s.
        for step in range(steps):
            lo, hi = step * len(order) // steps, (step + 1) * len(order) // steps
            for i in order[lo:hi]:
                jobs[i].update(status="pending", polls=1)
            back = max(0, step - 20)
            lo, hi = back * len(order) // steps, (back + 1) * len(order) // steps
            for i in order[lo:hi] if step >= 20 else ():
                jobs[i].finish(rng.choice(["success", "success", "failure"]), duration=1.0)
            time.sleep(duration / steps)
        for i in order:
            if not jobs[i].done:
                jobs[i].finish("success", duration=1.0)

    worker = threading.Thread(target=mutate)
    started = time.monotonic()
    renderer.add(board)
    worker.start()
    worker.join()
    renderer.join(timeout=30)
    assert not renderer.running and board.finished
    elapsed = time.monotonic() - started

    renders = board.renders
    assert renders <= 4 * elapsed + 2, (renders, elapsed)
    assert renders >= 10  # it kept moving while the jobs changed
    assert per_render and max(per_render) <= WIDGETS_REDRAWN
    assert comm_log.count() <= WIDGETS_REDRAWN * renders
    assert board._progress.value == 10_000
    print(f"\n10k jobs over {elapsed:.1f} s: {renders} renders, messages per render {per_render}")
