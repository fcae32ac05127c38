"""``BatchBoard``: thousands of jobs as one small, live widget.

Four widgets whatever the number of jobs: a summary (counts, throughput, ETA, latency
percentiles), a progress bar, a status filter and one selectable table of the rows that
matter (failures first, then running, then the latest successes; capped). A render costs
the rows shown, not the jobs (see :mod:`rutter_nb.widgets.board_state`). Clicking a row
opens that job's :class:`JobView` below the table; like every browser-to-kernel message,
the click is handled when the kernel is idle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ipywidgets

from rutter_nb.widgets.board_state import FILTERS, BoardSnapshot, BoardState, jobs_of
from rutter_nb.widgets.html import board_html, board_summary_html, board_text, row_label
from rutter_nb.widgets.job_view import JobView
from rutter_nb.widgets.live import LiveView
from rutter_nb.widgets.render import Renderer
from rutter_nb.widgets.snapshot import utcnow

if TYPE_CHECKING:
    from rutter_nb.widgets.watch import Watch

__all__ = ["BatchBoard"]

# The table is a <select>: make it read as a table (fixed-width columns).
_STYLE = (
    "<style>.rutter-board-rows select{font-family:var(--jp-code-font-family,monospace);"
    "font-size:12px}</style>"
)


class BatchBoard(LiveView):
    """A live board of many jobs: a list of jobs, or any object with a ``.jobs`` list.

    >>> board = BatchBoard(jobs)  # doctest: +SKIP
    >>> board.watch()  # shows it and keeps it (and the jobs) updated in the background
    """

    def __init__(
        self,
        jobs: Any,
        *,
        max_rows: int = 50,
        total: int | None = None,
        renderer: Renderer | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(renderer=renderer, clock=clock)
        self.source = jobs
        self.state = BoardState(jobs, max_rows=max_rows, total=total, clock=clock)
        self._filter_changes = 0
        self._summary = ipywidgets.HTML()
        self._summary.add_class("rutter-board-summary-widget")
        self._progress = ipywidgets.IntProgress(
            value=0, min=0, max=1, layout=ipywidgets.Layout(width="100%")
        )
        self._progress.add_class("rutter-board-progress")
        self._filter = ipywidgets.ToggleButtons(options=FILTERS, value="all")
        self._filter.add_class("rutter-board-filter")
        self._rows = ipywidgets.Select(
            options=(), index=None, rows=12, layout=ipywidgets.Layout(width="100%")
        )
        self._rows.add_class("rutter-board-rows")
        self._detail = ipywidgets.Output()
        self.widget = ipywidgets.VBox(
            [self._summary, self._progress, self._filter, self._rows, self._detail]
        )
        self.widget.add_class("rutter-board")
        self._filter.observe(self._filter_changed, names="value")
        self._rows.observe(self._row_clicked, names="index")
        self.opened: JobView | None = None
        """The job view opened by the last row click."""
        self.state.sync()
        self._start()

    @property
    def jobs(self) -> list[Any]:
        """The jobs on the board (a copy of the source's list)."""
        return list(jobs_of(self.source))

    def watch(self, *, poll: bool | None = None, poll_rate: float = 40.0) -> Watch:
        """Display the board and keep it live in the background; returns a stoppable ``Watch``.

        With a plain list of jobs the watch also polls the running ones (at most
        ``poll_rate`` GETs per second); a batch object polls its own jobs.
        """
        from rutter_nb.widgets.watch import watch_board

        return watch_board(self, poll=poll, poll_rate=poll_rate)

    # -- LiveView -------------------------------------------------------------------------
    def _version(self) -> int:
        self.state.sync()  # adopt jobs appended since the last visit: O(new)
        return self.state.version + self._filter_changes

    def _is_final(self) -> bool:
        return self.state.finished()

    def snapshot(self) -> BoardSnapshot:
        """What the board shows now, for the current filter."""
        return self.state.snapshot(str(self._filter.value))

    def _render(self) -> None:
        snap = self.snapshot()
        self._summary.value = _STYLE + board_summary_html(snap)
        with self._progress.hold_sync():
            self._progress.max = max(1, snap.total)
            self._progress.value = snap.done
            style = "danger" if snap.counts.get("failure") else "success"
            self._progress.bar_style = style if snap.finished else ""
        options = tuple((row_label(r), r.key) for r in snap.rows)
        if options != self._rows.options:
            self._rows.options = options

    def _release(self) -> None:
        self.state.close()

    def to_html(self) -> str:
        return board_html(self.snapshot())

    def text(self) -> str:
        return board_text(self.snapshot())

    # -- interaction (runs on the kernel's main thread, when idle) -------------------------
    def _filter_changed(self, _change: Any) -> None:
        self._filter_changes += 1
        if self.finished:  # a finished board is no longer visited: redraw right here
            self._render()

    def _row_clicked(self, change: Any) -> None:
        key = self._rows.value if change["new"] is not None else None
        if key is None:
            return
        self.open(self.state.job(key))
        self._rows.index = None  # a click acts like a button: nothing stays selected

    def open(self, job: Any) -> JobView:
        """Show ``job``'s view under the table (what clicking its row does)."""
        view = JobView(job, renderer=self._renderer, clock=self._clock)
        # Set the outputs directly: this works from any thread and needs no IPython shell.
        output = {"output_type": "display_data", "data": view._repr_mimebundle_(), "metadata": {}}
        self._detail.outputs = (output,)
        self.opened = view
        return view
