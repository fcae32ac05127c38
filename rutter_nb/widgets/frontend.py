"""Which front end we are in, and how a job shows itself there.

Like ``tqdm.auto``: inside a Jupyter kernel views are widgets (with HTML and text
fallbacks in the same bundle); anywhere else a job is static HTML/text and creates no
widgets and no threads.
"""

from __future__ import annotations

import sys
from typing import Any

from rutter_nb.widgets.html import job_html, job_text
from rutter_nb.widgets.live import LiveView
from rutter_nb.widgets.snapshot import snapshot

__all__ = ["in_kernel", "job_mimebundle", "show"]


def in_kernel() -> bool:
    """True inside a Jupyter kernel (where a widget front end may listen)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def job_mimebundle(job: Any, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    """``Job._repr_mimebundle_``: a live :class:`JobView` in a kernel, static text elsewhere.

    The bundle always carries ``text/html`` (a snapshot) and ``text/plain`` (one line).
    """
    if in_kernel():
        from rutter_nb.widgets.job_view import JobView

        return JobView(job)._repr_mimebundle_(include=include, exclude=exclude)
    snap = snapshot(job)
    bundle = {"text/html": job_html(snap), "text/plain": job_text(snap)}
    if include:
        bundle = {k: v for k, v in bundle.items() if k in include}
    if exclude:
        bundle = {k: v for k, v in bundle.items() if k not in exclude}
    return bundle


def show(view: LiveView) -> Any:
    """Display ``view`` with a display id; its final state replaces it when it finishes."""
    from IPython.display import display

    handle = display(view, display_id=True)  # type: ignore[no-untyped-call]
    if handle is not None:
        view.attach_display(handle)
    return handle
