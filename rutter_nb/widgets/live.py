"""What every live view shares: change tracking, the ticking clock, stop, final snapshot.

A view redraws when its source's version moved or (while running) when the wall-clock
second changed, so elapsed times tick without redrawing four times a second. When the
view becomes final it stops listening and, if it was displayed with a ``display_id``,
updates that display so the saved notebook holds the final ``text/html`` snapshot.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rutter_nb.widgets.render import Renderer, default_renderer

__all__ = ["WIDGET_MIME", "LiveView"]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _filter(bundle: dict[str, Any], include: Any, exclude: Any) -> dict[str, Any]:
    if include:
        bundle = {k: v for k, v in bundle.items() if k in include}
    if exclude:
        bundle = {k: v for k, v in bundle.items() if k not in exclude}
    return bundle


class LiveView(ABC):
    """Base of :class:`JobView` and :class:`BatchBoard`; subclasses draw, this decides when."""

    widget: Any
    """The ipywidgets container shown in a widget-capable front end."""

    def __init__(self, *, renderer: Renderer | None, clock: Callable[[], datetime]) -> None:
        self._renderer = renderer or default_renderer()
        self._clock: Callable[[], datetime] = clock
        self._lock = threading.RLock()
        self._drawn: tuple[int, int | None] | None = None
        self._stopped = False
        self._finished = False
        self._handles: list[Any] = []
        self._on_finish: list[Callable[[], None]] = []
        self._last_render = float("-inf")
        self.renders = 0
        """How many times this view has redrawn its widgets (for tests and benchmarks)."""

    # -- for subclasses -------------------------------------------------------------------
    @abstractmethod
    def _version(self) -> int:
        """A number that changes whenever the source changed (cheap to read)."""

    @abstractmethod
    def _is_final(self) -> bool:
        """True when the source can change no more."""

    @abstractmethod
    def _render(self) -> None:
        """Redraw the widgets from the source's current state."""

    def _release(self) -> None:  # noqa: B027 (an optional hook: nothing to release by default)
        """Stop listening to the source (called once, when final or stopped)."""

    @abstractmethod
    def to_html(self) -> str:
        """The static HTML snapshot (what nbconvert and GitHub show)."""

    @abstractmethod
    def text(self) -> str:
        """The one-line plain-text summary."""

    # -- the loop -------------------------------------------------------------------------
    def _start(self) -> None:
        self._tick()
        if not self._finished:
            self._renderer.add(self)

    def _tick(self) -> bool:
        """Redraw if something changed; return False once final (the renderer drops us)."""
        with self._lock:
            if self._finished:
                return False
            final = self._stopped or self._is_final()
            second = None if final else int(self._clock().timestamp())
            key = (self._version(), second)
            if key != self._drawn:
                self._render()
                self._drawn = key
                self._last_render = time.monotonic()
                self.renders += 1
            if final:
                self._finish()
                return False
            return True

    def _poke(self) -> None:
        """Called on a change: redraw right here if this is the main thread and it is due.

        A ``job.wait()`` blocking the main thread then draws too, which matters where
        updates from background threads do not show (Colab); the renderer's pace holds.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        if time.monotonic() - self._last_render >= self._renderer.interval:
            self._tick()

    def _finish(self) -> None:
        self._finished = True
        self._release()
        for handle in self._handles:
            handle.update(self)
        for callback in self._on_finish:
            callback()

    def attach_display(self, handle: Any) -> None:
        """Remember a ``DisplayHandle`` to refresh with the final snapshot."""
        with self._lock:
            self._handles.append(handle)
            final = self._finished
        if final:
            handle.update(self)

    def on_finish(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once the view has drawn its final state."""
        with self._lock:
            if not self._finished:
                self._on_finish.append(callback)
                return
        callback()

    @property
    def finished(self) -> bool:
        """True once the view drew its final state (source done, or stopped)."""
        return self._finished

    def stop(self) -> None:
        """Stop updating: draw the current state once more and let go of the source."""
        with self._lock:
            self._stopped = True
        self._tick()
        self._renderer.remove(self)

    # -- display --------------------------------------------------------------------------
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Widget view, static HTML snapshot and one-line text, in one bundle."""
        bundle = {
            WIDGET_MIME: {
                "version_major": 2,
                "version_minor": 0,
                "model_id": self.widget.model_id,
            },
            "text/html": self.to_html(),
            "text/plain": self.text(),
        }
        return _filter(bundle, include, exclude)

    def __repr__(self) -> str:
        return self.text()
