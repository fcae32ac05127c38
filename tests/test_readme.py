"""The README's five-line example runs as written, in a fresh process with no credentials."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _five_line_example() -> str:
    section = README.read_text(encoding="utf-8").split("## Five lines", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README: the 'Five lines' section lost its python block"
    return match.group(1)


def test_readme_example_runs_as_written() -> None:
    example = _five_line_example()
    assert len(example.strip().splitlines()) == 5
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUTTER_")}
    done = subprocess.run(
        [sys.executable, "-c", example],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.strip().splitlines()
    assert first.startswith("rutter_nb: no Rutter credentials found")
    assert second == "success Ada Lovelace"
    assert done.stderr == ""
