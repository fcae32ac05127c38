"""Run frame tests with the C reader or with the Python reader.

The C reader (``rutter_nb/frames/_reader.c``) is optional at install; where it was not
compiled its tests skip, except with ``RUTTER_NB_REQUIRE_NATIVE=1`` (CI), which makes a
missing C reader a failure.
"""

from __future__ import annotations

import os

import pytest

from rutter_nb.frames import _native


def require_c_reader() -> None:
    """Skip (or, with RUTTER_NB_REQUIRE_NATIVE=1, fail) unless the C reader is in use."""
    if _native.available():
        return
    message = "the frames' C reader is not compiled (or text is not Arrow-backed)"
    if os.environ.get("RUTTER_NB_REQUIRE_NATIVE") == "1":
        pytest.fail(message + "; RUTTER_NB_REQUIRE_NATIVE=1 forbids skipping")
    pytest.skip(message)


def use_reader(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the frames read with ``"c"`` or ``"python"`` for the rest of the test."""
    if name == "c":
        require_c_reader()
    else:
        monkeypatch.setattr(_native, "_reader", None)
