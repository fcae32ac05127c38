"""The text fallback where no widget front end exists: one rate-limited status line.

On a terminal the line is rewritten in place (``\\r``) at most once a second; into a file
or a CI log, a new line at most every ``log_interval`` seconds. The final state is always
written, once, on its own line.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["TextLine"]


class TextLine:
    """A renderable (see :mod:`rutter_nb.widgets.render`) that writes ``text()`` to a stream.

    >>> line = TextLine(lambda: board.text(), lambda: board.finished)  # doctest: +SKIP
    """

    def __init__(
        self,
        text: Callable[[], str],
        is_final: Callable[[], bool],
        *,
        stream: TextIO | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._text = text
        self._is_final = is_final
        self._stream = stream if stream is not None else sys.stderr
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self.interval = interval if interval is not None else (1.0 if self._tty else 10.0)
        self._clock = clock
        self._last_time: float | None = None
        self._last_text: str | None = None
        self._stopped = False
        self._finished = False
        self._lock = threading.Lock()
        self.writes = 0
        """How many times a line was written."""

    @property
    def finished(self) -> bool:
        """True once the final line was written."""
        return self._finished

    def stop(self) -> None:
        """Write the current state as the final line and stop."""
        self._stopped = True
        self._tick()

    def _write(self, text: str, final: bool) -> None:
        if self._tty:
            pad = max(0, len(self._last_text or "") - len(text))
            self._stream.write("\r" + text + " " * pad + ("\n" if final else ""))
        else:
            self._stream.write(text + "\n")
        self._stream.flush()
        self.writes += 1

    def _tick(self) -> bool:
        with self._lock:
            if self._finished:
                return False
            final = self._stopped or self._is_final()
            text = self._text()
            now = self._clock()
            due = self._last_time is None or now - self._last_time >= self.interval
            if final or (due and text != self._last_text):
                self._write(text, final)
                self._last_time, self._last_text = now, text
            self._finished = final
            return not final
