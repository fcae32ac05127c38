"""The frames work on pandas 2.2 too: their tests run again in a venv with pandas 2.2.

pandas 2 keeps text in Python objects (``string[python]``) where pandas 3 uses Arrow, so
the frames take other paths there (the Python reader, object-backed text). The venv is
built from ``tests/requirements-pandas2.txt`` plus this checkout, and cached by digest.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "tests" / "requirements-pandas2.txt"
CACHE = ROOT / "build" / "pandas2-venv"
FRAMES_TESTS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_frames*.py"))


def _run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"
    )
    return proc


@pytest.fixture(scope="module")
def pandas2_python() -> Path:
    """A venv's python with pandas 2.2 and this checkout (with its dependencies) installed."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    marker = CACHE / ".requirements-digest"
    python = CACHE / "bin" / "python"
    if not (marker.exists() and marker.read_text() == digest):
        shutil.rmtree(CACHE, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(CACHE)])
        _run([str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS), "."])
        marker.write_text(digest)
    else:  # the code under test, never a stale copy from the cache
        _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", "."])
    return python


@pytest.mark.slow
@pytest.mark.timeout(900)  # a fresh venv downloads pandas 2.2, numpy, pyarrow and matplotlib
def test_the_frames_tests_pass_on_pandas_2_2(pandas2_python: Path) -> None:
    version = _run([str(pandas2_python), "-c", "import pandas; print(pandas.__version__)"])
    assert version.stdout.strip().startswith("2.2.")
    # The C reader needs Arrow-backed text, so pandas 2 uses the Python reader: the tests
    # that need the C reader skip there rather than fail.
    env = {k: v for k, v in os.environ.items() if k != "RUTTER_NB_REQUIRE_NATIVE"}
    proc = _run(
        [str(pandas2_python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *FRAMES_TESTS],
        env=env,
    )
    summary = proc.stdout.strip().splitlines()[-1]
    print(f"\npandas 2.2: {summary}")
    passed = re.search(r"(\d+) passed", summary)
    assert passed is not None and int(passed.group(1)) >= 70, summary
    assert "failed" not in summary and "error" not in summary, summary
