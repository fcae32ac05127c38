"""The wheel: it carries the compiled C reader, and it still builds without a C compiler."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _wheel(tmp_path: Path, **env: str) -> list[str]:
    """Build a wheel from a copy of the committed tree; the names of the files in it."""
    source = tmp_path / "src"
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=240,
    )
    (wheel,) = out.glob("rutter_nb-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_carries_the_compiled_reader(tmp_path: Path) -> None:
    names = _wheel(tmp_path)

    assert any(
        n.startswith("rutter_nb/frames/_reader.") and n.endswith((".so", ".pyd")) for n in names
    )
    assert "rutter_nb/py.typed" in names and "rutter_nb/frames/_reader.pyi" in names


def test_without_a_c_compiler_the_wheel_builds_with_the_python_reader_only(
    tmp_path: Path,
) -> None:
    names = _wheel(tmp_path, CC="/bin/false")

    assert not any(n.endswith((".so", ".pyd")) for n in names)
    assert "rutter_nb/frames/_native.py" in names and "rutter_nb/frames/_extract.py" in names
