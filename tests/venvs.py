"""Throwaway venvs built from a requirements file, cached under build/ by its digest.

The notebooks run in a Binder-like venv and the frames tests again in a pandas 2.2 one;
both are built the same way and always get the code under test, never a stale copy.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in the repository root; fail the test with its output if it fails."""
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"
    )
    return proc


def cached_venv(cache: Path, requirements: Path) -> Path:
    """A venv at ``cache`` with ``requirements`` installed (its last line is ``.``).

    Rebuilt when the file's digest changes; otherwise only this checkout is reinstalled.
    """
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    marker = cache / ".requirements-digest"
    python = str(cache / "bin" / "python")
    if marker.exists() and marker.read_text() == digest:
        run([python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", "."])
    else:
        shutil.rmtree(cache, ignore_errors=True)
        run([sys.executable, "-m", "venv", str(cache)])
        run([python, "-m", "pip", "install", "-q", "-r", str(requirements)])
        marker.write_text(digest)
    return cache
