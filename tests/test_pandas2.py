"""The frames work on pandas 2.2 too: their tests run again in a venv with pandas 2.2.

pandas 2 keeps text in Python objects (``string[python]``) where pandas 3 uses Arrow, so
the frames take other paths there (the Python reader, object-backed text). The venv is
built from ``tests/requirements-pandas2.txt`` plus this checkout, and cached by digest.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from venvs import ROOT, cached_venv, run

REQUIREMENTS = ROOT / "tests" / "requirements-pandas2.txt"
FRAMES_TESTS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_frames*.py"))


@pytest.fixture(scope="module")
def pandas2_python() -> Path:
    """A venv's python with pandas 2.2 and this checkout (with its dependencies) installed."""
    return cached_venv(ROOT / "build" / "pandas2-venv", REQUIREMENTS) / "bin" / "python"


@pytest.mark.slow
@pytest.mark.timeout(900)  # a fresh venv downloads pandas 2.2, numpy, pyarrow and matplotlib
def test_the_frames_tests_pass_on_pandas_2_2(pandas2_python: Path) -> None:
    version = run([str(pandas2_python), "-c", "import pandas; print(pandas.__version__)"])
    assert version.stdout.strip().startswith("2.2.")
    # The C reader needs Arrow-backed text, so pandas 2 uses the Python reader: the tests
    # that need the C reader skip there rather than fail.
    env = {k: v for k, v in os.environ.items() if k != "RUTTER_NB_REQUIRE_NATIVE"}
    proc = run(
        [str(pandas2_python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *FRAMES_TESTS],
        env=env,
    )
    summary = proc.stdout.strip().splitlines()[-1]
    print(f"\npandas 2.2: {summary}")
    passed = re.search(r"(\d+) passed", summary)
    assert passed is not None and int(passed.group(1)) >= 70, summary
    assert "failed" not in summary and "error" not in summary, summary
