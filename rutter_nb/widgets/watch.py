"""Keep jobs polled and views drawn in the background while the user runs other cells.

``watch_job(job)`` (what ``Job.watch()`` calls) and ``BatchBoard.watch()`` display a view
and start one poller thread; the shared renderer thread draws. Work must progress while a
cell blocks the main thread, so it runs on threads, not on the kernel's event loop. A watch
stops when its view is final, on :meth:`Watch.stop`, and on a kernel interrupt (an
``post_run_cell`` hook sees the ``KeyboardInterrupt`` and stops every active watch).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from rutter_nb.redact import get_logger, scrub
from rutter_nb.widgets.board import BatchBoard
from rutter_nb.widgets.board_state import BoardState
from rutter_nb.widgets.frontend import in_kernel, show
from rutter_nb.widgets.html import job_text
from rutter_nb.widgets.job_view import JobView
from rutter_nb.widgets.render import default_renderer
from rutter_nb.widgets.snapshot import RUNNING, snapshot
from rutter_nb.widgets.terminal import TextLine

__all__ = ["Watch", "active_watches", "watch_board", "watch_job"]

_log = get_logger("rutter_nb.widgets")
STOP_JOIN_S = 10.0
"""How long ``Watch.stop()`` waits for a poll in flight (one HTTP read) to finish."""
_active: set[Watch] = set()
_active_lock = threading.Lock()
_hooked: set[int] = set()


class _View(Protocol):
    @property
    def finished(self) -> bool: ...
    def stop(self) -> None: ...


class Watch:
    """A running watch: ``stop()`` it, ``wait()`` for it; already on screen, so it shows nothing.

    >>> w = job.watch()  # doctest: +SKIP
    >>> w.stop()  # doctest: +SKIP
    """

    def __init__(self, view: _View, poll: Callable[[threading.Event, Watch], None] | None):
        self.view = view
        self.errors: list[str] = []
        """Redacted messages of failed polls (the watch keeps going after one)."""
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        with _active_lock:
            _active.add(self)
        _hook_interrupts()
        if poll is not None:
            self._poller = threading.Thread(
                target=self._poll, args=(poll,), name="rutter_nb-watch", daemon=True
            )
            self._poller.start()

    def _poll(self, poll: Callable[[threading.Event, Watch], None]) -> None:
        try:
            poll(self._stop, self)
        except Exception as exc:  # never a traceback from a background thread
            self.record_error(exc)

    def record_error(self, exc: BaseException) -> None:
        """Remember a failed poll, redacted (never raised from the background thread)."""
        message = scrub(f"{type(exc).__name__}: {exc}")
        if len(self.errors) < 100:
            self.errors.append(message)
        _log.warning("watch: %s", message)

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called (or a kernel interrupt stopped it)."""
        return self._stop.is_set()

    @property
    def done(self) -> bool:
        """True once the view drew its final state."""
        return self.view.finished

    def stop(self) -> None:
        """Stop polling and drawing; the view keeps its last state.

        Waits (up to ``STOP_JOIN_S``) for a poll already in flight, so that once ``stop()``
        returns no job changes behind the user's back.
        """
        self._stop.set()
        self.view.stop()
        with _active_lock:
            _active.discard(self)
        poller = self._poller
        if poller is not None and poller is not threading.current_thread():
            poller.join(STOP_JOIN_S)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the view is final (or ``timeout``); return whether it is."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.view.finished:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        if self._poller is not None:
            self._poller.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        with _active_lock:
            _active.discard(self)
        return True

    def _ipython_display_(self) -> None:
        """Nothing: the view was displayed when the watch started."""

    def __repr__(self) -> str:
        state = "done" if self.done else "stopped" if self.stopped else "running"
        return f"<Watch {state}: {self.view!r}>"


def active_watches() -> list[Watch]:
    """Watches still running (a kernel interrupt stops them all)."""
    with _active_lock:
        return list(_active)


def _after_cell(result: Any) -> None:
    if isinstance(getattr(result, "error_in_exec", None), KeyboardInterrupt):
        for watch in active_watches():
            watch.stop()


def _hook_interrupts() -> None:
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or id(shell) in _hooked:
        return
    shell.events.register("post_run_cell", _after_cell)
    _hooked.add(id(shell))


def _running(job: Any) -> bool:
    """Still worth polling: an unknown status stops the watch rather than polling forever."""
    return not job.done and str(job.status) in RUNNING


def _poll_job(job: Any, interval: float, max_interval: float) -> Callable[..., None]:
    def poll(stop: threading.Event, watch: Watch) -> None:
        delay = interval
        while not stop.is_set() and _running(job):
            try:
                job.refresh()
            except Exception as exc:
                watch.record_error(exc)
            if stop.wait(delay):
                return
            delay = min(max_interval, delay * 1.5)

    return poll


def _poll_board(state: BoardState, rate: float, sweep_pause: float) -> Callable[..., None]:
    def poll(stop: threading.Event, watch: Watch) -> None:
        while not stop.is_set():
            state.sync()
            if state.finished():
                return
            for job in state.running_jobs():
                if stop.is_set():
                    return
                try:
                    job.refresh()
                except Exception as exc:
                    watch.record_error(exc)
                if stop.wait(1.0 / rate):
                    return
            if stop.wait(sweep_pause):
                return

    return poll


def watch_job(
    job: Any,
    *,
    interval: float = 0.25,
    max_interval: float = 2.0,
    stream: TextIO | None = None,
) -> Watch:
    """Show ``job`` live and poll it in the background until it finishes (``Job.watch()``).

    In a kernel the :class:`JobView` is displayed; elsewhere a rate-limited text line is
    written to ``stream`` (stderr by default).

    >>> w = watch_job(job)  # doctest: +SKIP
    """
    if not hasattr(job, "refresh") or not hasattr(job, "done"):
        raise TypeError(f"watch_job needs a rutter_nb Job, not {type(job).__name__}")
    view: _View
    if in_kernel():
        job_view = JobView(job)
        show(job_view)
        view = job_view
    else:
        line = TextLine(lambda: job_text(snapshot(job)), lambda: not _running(job), stream=stream)
        default_renderer().add(line)
        view = line
    return Watch(view, _poll_job(job, interval, max_interval))


def watch_board(
    board: BatchBoard,
    *,
    poll: bool | None = None,
    poll_rate: float = 40.0,
    stream: TextIO | None = None,
) -> Watch:
    """Show ``board`` live; poll its running jobs unless its source polls them itself.

    ``poll=None`` polls when the board was given a plain list of jobs (a batch object
    polls its own jobs). ``poll_rate`` caps job GETs per second (Rutter allows 500 per 10 s
    per organisation, shared with submits).
    """
    if poll_rate <= 0:
        raise ValueError(f"poll_rate must be positive, got {poll_rate}")
    if poll is None:
        poll = not hasattr(board.source, "jobs")
    view: _View
    if in_kernel():
        show(board)
        view = board
    else:
        line = TextLine(board.text, board.state.finished, stream=stream)
        default_renderer().add(line)
        view = _BoardAndLine(board, line)
    return Watch(view, _poll_board(board.state, poll_rate, 0.25) if poll else None)


class _BoardAndLine:
    """Outside a kernel: the board's state plus the text line that shows it."""

    def __init__(self, board: BatchBoard, line: TextLine) -> None:
        self.board, self.line = board, line

    @property
    def finished(self) -> bool:
        return self.line.finished

    def stop(self) -> None:
        self.board.stop()
        self.line.stop()

    def __repr__(self) -> str:
        return self.board.text()
