"""Live views of jobs and batches, with static HTML and text fallbacks.

``JobView(job)`` and ``BatchBoard(jobs)`` are widgets that redraw from one shared renderer
thread a few times per second, only when something changed; ``watch_job`` (behind
``Job.watch()``) and ``BatchBoard.watch()`` keep them live while other cells run;
``job_mimebundle`` is what ``Job._repr_mimebundle_`` returns.
"""

from __future__ import annotations

from rutter_nb.widgets.board import BatchBoard
from rutter_nb.widgets.frontend import in_kernel, job_mimebundle
from rutter_nb.widgets.job_view import JobView
from rutter_nb.widgets.render import Renderer, default_renderer
from rutter_nb.widgets.terminal import TextLine
from rutter_nb.widgets.watch import Watch, active_watches, watch_board, watch_job

__all__ = [
    "BatchBoard",
    "JobView",
    "Renderer",
    "TextLine",
    "Watch",
    "active_watches",
    "default_renderer",
    "in_kernel",
    "job_mimebundle",
    "watch_board",
    "watch_job",
]
