"""benchmarks/bench_frames.py runs end to end (tiny size) and prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_frames.py"


def test_the_benchmark_prints_every_method_with_time_speed_up_and_memory() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--jobs", "300"],
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
    ).stdout

    rows = [line for line in out.splitlines() if line.startswith(("jobs frame:", "line items:"))]
    assert len(rows) == 8  # ours with the C and the Python reader, and the baselines
    assert "frames reader: C" in out or "frames reader: Python only" in out
    assert "300 x 51" in rows[0] and "1,500 x 26" in out
    for row in rows:
        time_s, speed_up, peak_mb = row.split()[-3:]
        assert float(time_s) >= 0
        assert speed_up.endswith("x") or speed_up == "-"
        assert float(peak_mb) >= 0
    assert "jobs frame vs json_normalize with the same dtypes" in out
    stages = [line for line in out.splitlines() if line.startswith("jobs frame stages:")]
    assert len(stages) == 1 and "5x needs <=" in stages[0] and "floor" in stages[0]
    objects = [line for line in out.splitlines() if line.startswith("Job objects:")]
    assert len(objects) == 3  # through _snapshot(), through to_dict(), from dicts
    assert all("300 x 51" in row for row in objects)
    assert objects[1].split()[-2] == "1.0x"  # the to_dict() row is the baseline
    for row in objects:
        assert float(row.split()[-4]) >= 0 and row.split()[-2].endswith("x")
