"""Render cost and messages per render of a BatchBoard of 1k, 10k and 100k jobs.

Real ``rutter_nb.Job`` objects are changed the way a poller changes them
(``Job.apply``); ipywidgets' comm is replaced by a recorder so every message a render
would send to the browser is counted. The cost of a render must not grow with the number
of jobs, only with the rows shown.

Run: ``python benchmarks/bench_widgets.py`` (part of ``make bench``).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
import time
import uuid
from typing import Any

import comm
from comm.base_comm import BaseComm

from rutter_nb.jobs import Job
from rutter_nb.protocol import JobState
from rutter_nb.widgets import BatchBoard

SIZES = (1_000, 10_000, 100_000)
RENDERS = 40
CHANGES_PER_RENDER = 20  # jobs that change between two renders (1k jobs never all finish)


class _Recorder(BaseComm):
    messages = 0

    def __init__(self, **kwargs: Any) -> None:
        self.kernel = True  # widgets drop messages when comm.kernel is None
        super().__init__(**kwargs)

    def publish_msg(self, msg_type: str, *args: Any, **kwargs: Any) -> None:
        if msg_type == "comm_msg":
            type(self).messages += 1


class _ManualRenderer:
    """The benchmark decides when the board renders (no thread, no sleeping)."""

    def add(self, view: Any) -> None:
        pass

    def remove(self, view: Any) -> None:
        pass


def _state(job: Job, status: str) -> JobState:
    response = None
    if status in ("success", "failure"):
        code = 200 if status == "success" else 400
        response = {"http_status": code, "body": {"invoice": {"id": job.id}}}
    return JobState(
        id=job.id, status=status, request=None, response=response, created_at=None, retry_after=None
    )


def bench(n: int, rng: random.Random) -> dict[str, float]:
    start = dt.datetime.now(dt.UTC)
    jobs = [
        Job(str(uuid.uuid4()), "prequeued", entity="invoice", submitted_at=start) for _ in range(n)
    ]
    t0 = time.perf_counter()
    board = BatchBoard(jobs, renderer=_ManualRenderer())  # type: ignore[arg-type]
    setup = time.perf_counter() - t0
    next_status = {"prequeued": "pending", "pending": "success"}
    costs: list[float] = []
    messages: list[int] = []
    change_cost = 0.0
    for _ in range(RENDERS):
        t0 = time.perf_counter()
        for job in rng.sample(jobs, CHANGES_PER_RENDER):
            status = next_status.get(job.status)
            if status == "success" and rng.random() < 0.1:
                status = "failure"
            if status is not None:
                job.apply(_state(job, status))
        change_cost += time.perf_counter() - t0
        before = _Recorder.messages
        t0 = time.perf_counter()
        board._tick()
        costs.append(time.perf_counter() - t0)
        messages.append(_Recorder.messages - before)
    board.stop()
    return {
        "jobs": n,
        "setup_s": setup,
        "render_ms_median": 1000 * statistics.median(costs),
        "render_ms_p95": 1000 * sorted(costs)[int(0.95 * len(costs)) - 1],
        "msgs_per_render_max": max(messages),
        "msgs_per_render_mean": statistics.mean(messages),
        "change_us": 1e6 * change_cost / (RENDERS * CHANGES_PER_RENDER),
        "renders": board.renders,
    }


def main() -> int:
    comm.create_comm = lambda **kw: _Recorder(**kw)  # type: ignore[assignment]
    rng = random.Random(7)
    rows = [bench(n, rng) for n in SIZES]
    header = (
        f"{'jobs':>8} {'setup s':>8} {'render ms (median)':>19} {'render ms (p95)':>16} "
        f"{'msgs/render (max)':>18} {'msgs/render (mean)':>19} {'per change µs':>14}"
    )
    print(f"BatchBoard, {RENDERS} renders, {CHANGES_PER_RENDER} job changes between renders")
    print(header)
    for r in rows:
        print(
            f"{r['jobs']:>8} {r['setup_s']:>8.2f} {r['render_ms_median']:>19.2f} "
            f"{r['render_ms_p95']:>16.2f} {r['msgs_per_render_max']:>18.0f} "
            f"{r['msgs_per_render_mean']:>19.2f} {r['change_us']:>14.1f}"
        )
    # The contract: rendering 100x more jobs must not cost much more (rows are capped).
    small, big = rows[0]["render_ms_median"], rows[-1]["render_ms_median"]
    if big > 5 * small + 2.0 or rows[-1]["msgs_per_render_max"] > 3:
        print("FAIL: render cost or messages grew with the number of jobs", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
