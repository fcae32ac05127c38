"""Benchmark: rutter_nb's frames against ``pandas.json_normalize`` on realistic invoice jobs.

Generates N invoice-create jobs deterministically (``rutter_nb.frames.sample_jobs``: five
line items each, 10% failures, 2023-03-14 money strings, the ``"client"`` block of
``Job.to_dict()``), then builds in the same run:

* the jobs frame: ``jobs_frame(jobs, entities="invoice")`` vs ``pd.json_normalize(jobs)``
  (its fast path: no ``record_path``/``meta``/``max_level``/prefixes), renamed and
  reindexed to the same column names;
* the line-items frame: ``records_frame(jobs, "request.invoice.line_items")`` vs
  ``pd.json_normalize(jobs, record_path=[...], meta=["id"])``, likewise reindexed.

Times are the best of ``--repeat`` runs in this process, the methods taking turns (round
robin, so that no method always runs first on a heap that has yet to grow). Peak memory is
measured in a fresh child process per method (the jobs are handed over in a pickle file):
on Linux, the peak resident set while the frame is built (high-water mark reset through
``/proc/self/clear_refs``) minus the resident set before, which counts pandas', numpy's
and Arrow's buffers alike; elsewhere, ``tracemalloc``'s peak. json_normalize leaves every
column as raw text/objects while ours also types them (floats, datetimes, categories): the speed-up
column is measured with that extra work on our side only; a further row gives
json_normalize the same dtypes (``pd.to_datetime``/``pd.to_numeric``/``astype``).

Ours runs twice: with the C reader (``rutter_nb/frames/_reader.c``, compiled at install
when a C compiler is there) and with the Python reader it falls back to otherwise.

A last section reads real ``rutter_nb.jobs.Job`` objects (20,000, or N if fewer: the same
kind of invoice jobs built with ``Job(...)``, no server, ``sample_job_objects``): the jobs
frame of the objects (read through ``Job._snapshot()``) against the frame of their
``to_dict()`` output, counting the ``to_dict()`` calls as the old reader did, and against
the frame of the same jobs already held as dicts. Its times are in-process only (Job
objects do not pickle, so no memory children).

Run: ``.venv/bin/python benchmarks/bench_frames.py [--jobs N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pandas as pd

from rutter_nb.frames import _native, jobs_frame, records_frame, sample_jobs
from rutter_nb.frames.sample import sample_job_objects
from rutter_nb.jobs import Job

LINES_PATH = "request.invoice.line_items"

# our column -> json_normalize's name for the same value (body columns: "request.body.x")
_CORE_EQUIVALENTS = {
    "job_id": "id",
    "status": "status",
    "sync": "client.sync",
    "http_status": "response.http_status",
    "method": "request.method",
    "path": "request.url",
    "entity": "client.entity",
    "response_mode": "client.response_mode",
    "idempotency_key": "request.idempotency_key",
    "submitted_at": "client.submitted_at",
    "completed_at": "client.completed_at",
    "duration_s": "client.duration",
    "polls": "client.polls",
    "attempts": "client.attempts",
    "replayed": "client.replayed",
    "error_type": "response.body.error_type",
    "error_code": "response.body.error_code",
    "error_message": "response.body.error_message",
}


def _their_name(ours: str) -> str:
    if ours in _CORE_EQUIVALENTS:
        return _CORE_EQUIVALENTS[ours]
    side, rest = ours.split(".", 1)
    return f"{side}.body.{rest}"


def ours_jobs(jobs: list[dict[str, Any]]) -> pd.DataFrame:
    return jobs_frame(jobs, entities="invoice")


def ours_jobs_all_entities(jobs: list[dict[str, Any]]) -> pd.DataFrame:
    return jobs_frame(jobs)


def python_reader(build: Callable[[list[dict[str, Any]]], pd.DataFrame]) -> Any:
    """``build`` with the frames' C reader switched off (the Python reader reads)."""

    def run(jobs: list[dict[str, Any]]) -> pd.DataFrame:
        compiled, _native._reader = _native._reader, None
        try:
            return build(jobs)
        finally:
            _native._reader = compiled

    return run


def normalize_jobs(jobs: list[dict[str, Any]]) -> pd.DataFrame:
    columns = list(jobs_frame([], entities="invoice").columns)
    flat = pd.json_normalize(jobs)
    return flat.reindex(columns=[_their_name(c) for c in columns]).set_axis(columns, axis=1)


def _kinds() -> dict[str, str]:
    from rutter_nb.frames._extract import leaves
    from rutter_nb.frames._schema import CORE_COLUMNS, ENTITY_BODIES

    kinds = dict(CORE_COLUMNS)
    for side, tree in zip(("request", "response"), ENTITY_BODIES["invoice"], strict=True):
        kinds.update({f"{side}.invoice.{leaf}": kind for leaf, kind in leaves(tree)})
    return kinds


def normalize_jobs_typed(jobs: list[dict[str, Any]]) -> pd.DataFrame:
    """json_normalize, then the same dtypes as ours, the way an analyst would add them."""
    frame = normalize_jobs(jobs)
    for name, kind in _kinds().items():
        column = frame[name]
        if kind == "datetime":
            frame[name] = pd.to_datetime(column, utc=True, format="ISO8601", errors="coerce")
        elif kind in ("money", "number"):
            frame[name] = pd.to_numeric(column, errors="coerce")
        elif kind == "int":
            frame[name] = pd.to_numeric(column, errors="coerce").astype("Int64")
        elif kind == "bool":
            frame[name] = column.astype("boolean")
        elif kind == "status":
            frame[name] = column.astype("category")
    return frame


def ours_lines(jobs: list[dict[str, Any]]) -> pd.DataFrame:
    return records_frame(jobs, LINES_PATH)


def normalize_lines(jobs: list[dict[str, Any]]) -> pd.DataFrame:
    columns = list(records_frame([], LINES_PATH).columns)
    flat = pd.json_normalize(
        jobs, record_path=["request", "body", "invoice", "line_items"], meta=["id"]
    )
    flat = flat.rename(columns={"id": "job_id"})
    flat["index"] = flat.groupby("job_id", sort=False).cumcount()
    return flat.reindex(columns=columns)


METHODS: dict[str, Callable[[list[dict[str, Any]]], pd.DataFrame]] = {
    "jobs frame: rutter_nb.jobs_frame": ours_jobs,
    "jobs frame: pd.json_normalize (fast path)": normalize_jobs,
    "jobs frame: pd.json_normalize + the same dtypes": normalize_jobs_typed,
    "jobs frame: rutter_nb, all 4 entities": ours_jobs_all_entities,
    "jobs frame: rutter_nb, Python reader": python_reader(ours_jobs),
    "line items: rutter_nb.records_frame": ours_lines,
    "line items: rutter_nb, Python reader": python_reader(ours_lines),
    "line items: pd.json_normalize (record_path/meta)": normalize_lines,
}
_JOBS_BASE = "jobs frame: pd.json_normalize (fast path)"
_LINES_BASE = "line items: pd.json_normalize (record_path/meta)"
BASELINE = {
    "jobs frame: rutter_nb.jobs_frame": _JOBS_BASE,
    "jobs frame: rutter_nb, all 4 entities": _JOBS_BASE,
    "jobs frame: pd.json_normalize + the same dtypes": _JOBS_BASE,
    "jobs frame: rutter_nb, Python reader": _JOBS_BASE,
    "line items: rutter_nb.records_frame": _LINES_BASE,
    "line items: rutter_nb, Python reader": _LINES_BASE,
}


OBJECT_JOBS = 20_000
OBJECT_METHODS: dict[str, Callable[[list[Job], list[dict[str, Any]]], pd.DataFrame]] = {
    "Job objects: jobs_frame(jobs)": lambda objs, dicts: jobs_frame(objs, entities="invoice"),
    "Job objects: jobs_frame([j.to_dict() ...])": lambda objs, dicts: jobs_frame(
        [j.to_dict() for j in objs], entities="invoice"
    ),
    "Job objects: jobs_frame(the same jobs as dicts)": lambda objs, dicts: jobs_frame(
        dicts, entities="invoice"
    ),
}
OBJECT_BASELINE = "Job objects: jobs_frame([j.to_dict() ...])"


def _reset_peak() -> bool:
    """Reset the kernel's resident-set high-water mark (Linux), so that it measures only
    what follows; False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(field)


def _child(method: str, data_file: str) -> None:
    """Build one frame in this fresh process; print its peak memory growth in MB."""
    with open(data_file, "rb") as f:
        jobs = pickle.load(f)
    METHODS[method](jobs[:100])  # imports and first-call costs are not the build's
    gc.collect()
    if _reset_peak():
        before = _status_mb("VmRSS")
        frame = METHODS[method](jobs)
        peak = _status_mb("VmHWM") - before
    else:  # elsewhere: Python allocations only (numpy's are traced, Arrow's are not)
        tracemalloc.start()
        frame = METHODS[method](jobs)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    print(peak, len(frame), len(frame.columns))


def _peak_mb(method: str, data_file: str) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, "--data", data_file],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0])


def _time(method: str, jobs: list[dict[str, Any]]) -> tuple[float, tuple[int, int]]:
    gc.collect()
    start = time.perf_counter()
    frame = METHODS[method](jobs)
    return time.perf_counter() - start, frame.shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="number of jobs (100000)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per method (1)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory children")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.data)
        return
    if args.jobs < 1 or args.repeat < 1:
        parser.error("--jobs and --repeat must be positive")

    start = time.perf_counter()
    jobs = sample_jobs(args.jobs, line_items=5, failure_rate=0.1, seed=2026)
    reader = "C (rutter_nb/frames/_reader.c)" if _native.available() else "Python only"
    print(
        f"{args.jobs:,} invoice jobs (5 line items, 10% failures) generated in "
        f"{time.perf_counter() - start:.1f} s; pandas {pd.__version__}, Python "
        f"{sys.version.split()[0]}; frames reader: {reader}"
    )
    for method in METHODS:  # warm imports and caches, outside the timings
        METHODS[method](jobs[:50])

    times: dict[str, float] = {}
    shapes: dict[str, tuple[int, int]] = {}
    for _ in range(args.repeat):  # round robin: no method always runs first (cold heap)
        for method in METHODS:
            took, shapes[method] = _time(method, jobs)
            times[method] = min(times.get(method, float("inf")), took)

    peaks: dict[str, float] = {}
    if not args.no_memory:
        with tempfile.TemporaryDirectory() as tmp:
            data_file = os.path.join(tmp, "jobs.pickle")
            with open(data_file, "wb") as f:
                pickle.dump(jobs, f, protocol=pickle.HIGHEST_PROTOCOL)
            for method in METHODS:
                peaks[method] = _peak_mb(method, data_file)

    header = f"{'method':<50} {'rows x cols':>15} {'time s':>8} {'speed-up':>9} {'peak MB':>8}"
    print(header)
    print("-" * len(header))
    for method in METHODS:
        base = BASELINE.get(method)
        ratio = f"{times[base] / times[method]:.1f}x" if base else "1.0x"
        if method == "jobs frame: pd.json_normalize + the same dtypes":
            ratio = "-"  # a baseline too: see the last line
        peak = f"{peaks[method]:.0f}" if method in peaks else "-"
        rows, cols = shapes[method]
        print(f"{method:<50} {f'{rows:,} x {cols}':>15} {times[method]:>8.2f} {ratio:>9} {peak:>8}")
    ours = times["jobs frame: rutter_nb.jobs_frame"]
    typed = times["jobs frame: pd.json_normalize + the same dtypes"]
    print("speed-up = the json_normalize time of the same frame / this time (higher is better)")
    print(f"jobs frame vs json_normalize with the same dtypes: {typed / ours:.1f}x")
    _stages(jobs, args.repeat, times["jobs frame: pd.json_normalize (fast path)"])
    _objects_section(min(OBJECT_JOBS, args.jobs), args.repeat)


def _floor_read(jobs: list[dict[str, Any]]) -> list[Any]:
    """The least any pure-Python reader does: visit each object of a job once and copy out
    its values (one C-level ``extend`` per object; no columns, no checks, no types)."""
    values: list[Any] = []
    extend = values.extend
    for job in jobs:
        request, response = job["request"], job["response"]
        body, answer = request["body"], response["body"]
        extend(job.values())
        extend(request.values())
        extend(body.values())
        extend(body["invoice"].values())
        extend(response.values())
        extend(answer.values())
        extend(answer.get("invoice", {}).values())
        extend(job["client"].values())
    return values


def _stages(jobs: list[dict[str, Any]], repeat: int, baseline: float) -> None:
    """Where the jobs frame's time goes, against the time a 5x speed-up allows."""
    from rutter_nb.frames._extract import job_values
    from rutter_nb.frames._source import job_dicts

    def best(run: Callable[[], object]) -> float:
        fastest = float("inf")
        for _ in range(repeat):
            gc.collect()
            start = time.perf_counter()
            run()
            fastest = min(fastest, time.perf_counter() - start)
        return fastest

    read = best(lambda: job_values(job_dicts(jobs), ("invoice",)))
    total = best(lambda: jobs_frame(jobs, entities="invoice"))
    floor = best(lambda: _floor_read(jobs))
    print(
        f"jobs frame stages: read {read:.2f} s (job_dicts + reader + derived job columns), "
        f"typing + DataFrame {max(total - read, 0):.2f} s, total {total:.2f} s; 5x needs <= "
        f"{baseline / 5:.2f} s; floor of any pure-Python read (each object's values copied "
        f"once, no columns) {floor:.2f} s"
    )


def _objects_section(n: int, repeat: int) -> None:
    """Frames of real Job objects: through Job._snapshot(), through to_dict(), from dicts."""
    objects = sample_job_objects(n, line_items=5, failure_rate=0.1, seed=2026)
    dicts = [job.to_dict() for job in objects]
    times: dict[str, float] = {}
    shapes: dict[str, tuple[int, int]] = {}
    for method, build in OBJECT_METHODS.items():
        build(objects[:50], dicts[:50])
        best = float("inf")
        for _ in range(repeat):
            gc.collect()
            start = time.perf_counter()
            frame = build(objects, dicts)
            best = min(best, time.perf_counter() - start)
        times[method], shapes[method] = best, frame.shape
    print()
    print(f"{n:,} finished Job objects (Job(...), no server), the same invoice jobs")
    for method in OBJECT_METHODS:
        ratio = f"{times[OBJECT_BASELINE] / times[method]:.1f}x"
        rows, cols = shapes[method]
        print(f"{method:<50} {f'{rows:,} x {cols}':>15} {times[method]:>8.2f} {ratio:>9} {'-':>8}")
    print("speed-up = the time through to_dict() / this time; peak memory not measured here")


if __name__ == "__main__":
    main()
