"""Run the reliability scenarios (tests/reliability) and print the figures table.

Each scenario is a pytest test that asserts its own counts and writes one row per run to a
report file; this script runs them at full size, collects the rows and prints them:

    python benchmarks/reliability.py            # full size (what `make reliability` runs)
    python benchmarks/reliability.py --small    # the size `make test` runs
    python benchmarks/reliability.py --soak     # also the 10-minute soak (make reliability SOAK=1)
    python benchmarks/reliability.py --markdown # the table as Markdown, for docs/reliability.md

Exits non-zero when a scenario failed or any row shows something lost, duplicated or leaked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("scenario", "requests", "lost", "duplicated", "leaked", "5xx", "notes")
KEYS = ("scenario", "requests", "lost", "duplicated", "leaked", "server_errors", "notes")


def run(small: bool, soak: bool, extra: list[str]) -> tuple[int, list[dict[str, object]], float]:
    """Run pytest over the scenarios; returns (pytest exit code, rows, seconds)."""
    with tempfile.TemporaryDirectory(prefix="rutter-reliability-") as tmp:
        report = Path(tmp) / "rows.jsonl"
        env = {
            **os.environ,
            "RUTTER_NB_RELIABILITY_SCALE": "small" if small else "full",
            "RUTTER_NB_RELIABILITY_REPORT": str(report),
        }
        targets = ["tests/reliability"]
        if soak:  # soak_chaos.py is left out of normal collection by its name
            targets += ["-o", "python_files=test_*.py soak_*.py"]
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            *targets,
            "-m",
            "reliability",
            "-q",
            "-p",
            "no:cacheprovider",
            "--timeout",
            "1800",
            *extra,
        ]
        started = time.monotonic()
        code = subprocess.call(cmd, cwd=ROOT, env=env)
        elapsed = time.monotonic() - started
        rows = (
            [json.loads(line) for line in report.read_text().splitlines()]
            if report.exists()
            else []
        )
    return code, rows, elapsed


def table(rows: list[dict[str, object]], markdown: bool) -> str:
    """The rows as an aligned text table, or as Markdown."""
    rows = sorted(rows, key=lambda row: str(row["scenario"]))  # by scenario number
    cells = [[str(row[k]) for k in KEYS] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
        return "\n".join(lines)
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(COLUMNS[:-1])]

    def line(values: list[str]) -> str:
        padded = [values[0].ljust(widths[0])]
        padded += [v.rjust(w) for v, w in zip(values[1:-1], widths[1:], strict=True)]
        return "  ".join(padded) + "  " + values[-1]

    out = [line(list(COLUMNS)), line(["-" * w for w in widths] + ["-----"])]
    out += [line(c) for c in cells]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="the size `make test` runs")
    parser.add_argument("--soak", action="store_true", help="also run the 10-minute soak")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args, extra = parser.parse_known_args(argv)
    code, rows, elapsed = run(args.small, args.soak, extra)
    print()
    print(f"Reliability figures ({'small' if args.small else 'full'} size, {elapsed:.0f} s):")
    print(table(rows, args.markdown) if rows else "(no rows: did the scenarios run?)")
    bad = [r for r in rows if any(int(str(r[k])) for k in ("lost", "duplicated", "leaked"))]
    if bad:
        print(f"\n{len(bad)} scenario(s) lost, duplicated or leaked something.")
    if code != 0:
        print(f"\npytest exited with {code}: a scenario failed (see above).")
    return 1 if bad or code != 0 or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
