"""Shared fixtures: a started embedded sandbox, and a factory for custom ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rutter_nb.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A running sandbox with quick jobs (0.05..0.2 s), a 2 s sync window and seed 1."""
    with Sandbox(
        db=str(tmp_path / "sandbox.sqlite3"), job_duration=(0.05, 0.2), sync_window=2.0, seed=1
    ) as sb:
        yield sb


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[SandboxFactory]:
    """Call with `Sandbox` keyword arguments; every sandbox started is stopped at teardown.

    Without `db`, each sandbox gets its own file under `tmp_path`.
    """
    started: list[Sandbox] = []

    def make(**settings: Any) -> Sandbox:
        settings.setdefault("db", str(tmp_path / f"sandbox-{len(started)}.sqlite3"))
        sb = Sandbox(**settings)
        started.append(sb)
        return sb.start()

    yield make
    for sb in reversed(started):
        sb.stop()
