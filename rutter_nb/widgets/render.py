"""The single renderer thread: redraws live views a few times per second, only on change.

Jobs change on worker and poller threads, possibly thousands of times per second; sending a
widget message for each would flood the browser (ipywidgets sends one message per trait
assignment and coalesces nothing). Instead views only mark themselves dirty, and this one
daemon thread visits every registered view every ``interval`` seconds and lets it redraw
if something changed. Kernel-to-browser messages leave through ipykernel's IOPub thread,
so these redraws show even while a cell blocks the main thread.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from rutter_nb.redact import get_logger

__all__ = ["DEFAULT_INTERVAL", "Renderable", "Renderer", "default_renderer"]

DEFAULT_INTERVAL = 0.25
"""Seconds between visits: at most four redraws per second per view."""

_log = get_logger("rutter_nb.widgets")


class Renderable(Protocol):
    """A live view the renderer visits."""

    def _tick(self) -> bool:
        """Redraw if something changed; return False once the view is final."""
        ...


class Renderer:
    """One background thread visiting many views; it exits when none is left.

    >>> renderer = Renderer(interval=0.25)
    >>> renderer.add(view)  # doctest: +SKIP
    """

    def __init__(self, interval: float = DEFAULT_INTERVAL) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self.interval = interval
        self._views: list[Renderable] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, view: Renderable) -> None:
        """Start visiting ``view`` (starting the thread if it is not running)."""
        with self._lock:
            if view not in self._views:
                self._views.append(view)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="rutter_nb-renderer", daemon=True
                )
                self._thread.start()

    def remove(self, view: Renderable) -> None:
        """Stop visiting ``view``."""
        with self._lock:
            if view in self._views:
                self._views.remove(view)

    def __contains__(self, view: object) -> bool:
        with self._lock:
            return view in self._views

    @property
    def running(self) -> bool:
        """Whether the thread is alive (it stops by itself when no view is left)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to finish (after the last view became final)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                views = list(self._views)
                if not views:
                    self._thread = None
                    return
            for view in views:
                try:
                    keep = view._tick()
                except Exception:  # one broken view must not stop the others
                    _log.exception("a live view failed to render; it is no longer updated")
                    keep = False
                if not keep:
                    self.remove(view)
            time.sleep(self.interval)


_default: Renderer | None = None
_default_lock = threading.Lock()


def default_renderer() -> Renderer:
    """The process-wide renderer all views share (so there is one thread, not one per view)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Renderer()
        return _default
