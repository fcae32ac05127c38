"""Every notebook runs top to bottom in a fresh Binder-like environment, with no error output.

The environment is built from `binder/requirements.txt` alone and `binder/postBuild` is run in
it, as repo2docker would (repo2docker itself needs Docker, which CI lacks). Notebooks are
executed by that environment's own `jupyter execute`, against the embedded sandbox.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from venvs import ROOT, cached_venv, run

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SECRET_ENV = ("RUTTER_CLIENT_ID", "RUTTER_CLIENT_SECRET", "RUTTER_ACCESS_TOKEN", "RUTTER_BASE_URL")


@pytest.fixture(scope="session")
def binder_env() -> Path:
    """A venv from binder/requirements.txt (cached by its digest) with this checkout installed."""
    venv = cached_venv(ROOT / "build" / "binder-venv", ROOT / "binder" / "requirements.txt")
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    run(["bash", "binder/postBuild"], env=env)
    return venv


def _kernel_env(tmp_path: Path) -> dict[str, str]:
    """The embedded sandbox, not the real API: no Rutter credentials reach the kernel."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    env["RUTTER_NB_OUTPUT_DIR"] = str(tmp_path)
    return env


def _error_outputs(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            text += json.dumps(out.get("data", {}))
            if out.get("output_type") == "error" or "Traceback (most recent call last)" in text:
                found.append(f"cell {index}: {out.get('ename', '')} {text[:500]}")
    return found


def test_the_binder_install_has_the_frames_c_reader(binder_env: Path) -> None:
    """pip's install of the checkout compiled the C reader, and the frames use it."""
    check = "from rutter_nb.frames import _native; print(_native.available())"
    out = subprocess.run(
        [str(binder_env / "bin" / "python"), "-c", check],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if out != "True" and os.environ.get("RUTTER_NB_REQUIRE_NATIVE") != "1":
        pytest.skip("no C compiler here: the Binder-like install uses the Python reader")
    assert out == "True"


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.get("outputs") or c.get("execution_count")]
    assert dirty == [], f"{path.name}: clear the outputs of cells {dirty}"


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, binder_env: Path, tmp_path: Path) -> None:
    executed = tmp_path / path.name
    started = time.monotonic()
    run(
        [
            str(binder_env / "bin" / "jupyter"),
            "execute",
            str(path),
            f"--output={executed}",
            "--timeout=120",
            "--startup_timeout=60",
        ],
        env=_kernel_env(tmp_path),
    )
    elapsed = time.monotonic() - started
    print(f"{path.name}: ran in {elapsed:.1f} s")
    nb = nbformat.read(executed, as_version=4)
    assert _error_outputs(nb) == []
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")
