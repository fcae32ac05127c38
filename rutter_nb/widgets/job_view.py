"""``JobView``: one job as a live widget (badge, elapsed, polls, HTTP status, bodies).

The header is one HTML widget redrawn on change; the request and response bodies sit in
a collapsible accordion and are only reassigned when they change, so an open panel stays
open and an unchanged body costs no message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any

import ipywidgets

from rutter_nb.widgets.html import body_html, job_header_html, job_html, job_text
from rutter_nb.widgets.live import LiveView
from rutter_nb.widgets.render import Renderer
from rutter_nb.widgets.snapshot import RUNNING, JobSnapshot, snapshot, utcnow

__all__ = ["JobView"]


def _check_job(job: Any) -> None:
    missing = [a for a in ("id", "status", "on_change") if not hasattr(job, a)]
    if missing:
        raise TypeError(
            f"JobView needs a rutter_nb Job (or an object with id, status and on_change); "
            f"{type(job).__name__} lacks {', '.join(missing)}"
        )


class JobView(LiveView):
    """A live view of one job; display it, or let ``job.watch()`` do so.

    >>> view = JobView(job)  # doctest: +SKIP
    >>> view  # in a notebook: the widget; elsewhere: 'job 3f2a… invoice · pending · …'
    """

    def __init__(
        self,
        job: Any,
        *,
        renderer: Renderer | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        _check_job(job)
        super().__init__(renderer=renderer, clock=clock)
        self.job = job
        self._changes = 0
        self._header = ipywidgets.HTML()
        self._request = ipywidgets.HTML()
        self._response = ipywidgets.HTML()
        self._bodies = ipywidgets.Accordion(
            children=[self._request, self._response], titles=("request", "response")
        )
        self.widget = ipywidgets.VBox([self._header, self._bodies])
        self.widget.add_class("rutter-job-view")
        self._unsubscribe: Callable[[], None] | None = job.on_change(self._changed)
        self._start()

    def _changed(self, _job: Any) -> None:
        self._changes += 1  # cheap on purpose: runs on the thread that changed the job
        self._poke()

    def _version(self) -> int:
        return self._changes

    def _is_final(self) -> bool:
        # Not "job.done": an unknown status is final for a view too (PROTOCOL.md).
        return bool(getattr(self.job, "done", False)) or str(self.job.status) not in RUNNING

    def snapshot(self) -> JobSnapshot:
        """The job as this view would draw it now (redacted)."""
        return snapshot(self.job, self._clock())

    def _render(self) -> None:
        snap = self.snapshot()
        self._header.value = job_header_html(snap)
        url = f"<div><code>{escape(snap.url)}</code></div>" if snap.url else ""
        self._request.value = url + body_html(snap.request_body)
        self._response.value = body_html(snap.response_body)

    def _release(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def to_html(self) -> str:
        return job_html(self.snapshot())

    def text(self) -> str:
        return job_text(self.snapshot())
