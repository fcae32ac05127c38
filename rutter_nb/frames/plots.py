"""Two pictures of a batch: how latency is distributed, and when each job ran.

matplotlib is the optional extra ``plot`` and is imported only when a plot is drawn. Both
functions return the matplotlib ``Axes``, which a notebook displays inline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rutter_nb.frames._extras import MissingExtraError
from rutter_nb.frames.analysis import _jobs

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["STATUS_COLORS", "plot_latency", "plot_timeline"]

STATUS_COLORS = {
    "success": "#2e7d32",
    "partial_success": "#f9a825",
    "failure": "#c62828",
    "pending": "#9e9e9e",
    "prequeued": "#cfd8dc",
}
"""Status to colour, shared by both plots (other statuses are drawn purple)."""

_OTHER = "#6a1b9a"


def _pyplot_and_dates() -> tuple[Any, Any]:
    try:
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingExtraError("plots need matplotlib: pip install 'rutter_nb[plot]'") from exc
    return plt, mdates


def _axes(ax: Any, plt: Any) -> Any:
    if ax is None:
        _fig, ax = plt.subplots(figsize=(8, 4))
    return ax


def plot_latency(jobs: Any, *, bins: int = 40, ax: Any = None) -> Any:
    """Histogram of job durations in seconds, stacked by status.

    >>> plot_latency(batch)  # doctest: +SKIP
    """
    plt, _ = _pyplot_and_dates()
    frame = _jobs(jobs, ["status", "duration_s"])
    ax = _axes(ax, plt)
    timed = frame.loc[frame["duration_s"].notna(), ["status", "duration_s"]]
    groups = [
        (str(s), g["duration_s"].to_numpy()) for s, g in timed.groupby("status", observed=True)
    ]
    if groups:
        ax.hist(
            [values for _, values in groups],
            bins=bins,
            stacked=True,
            label=[name for name, _ in groups],
            color=[STATUS_COLORS.get(name, _OTHER) for name, _ in groups],
        )
        ax.legend(title="status")
    ax.set_xlabel("duration (s)")
    ax.set_ylabel("jobs")
    ax.set_title(f"Job latency ({len(timed)} jobs)")
    return ax


def plot_timeline(jobs: Any, *, limit: int = 500, ax: Any = None) -> Any:
    """Gantt-like chart: one bar per job from submission to completion, coloured by status.

    Jobs still running end at the latest timestamp seen; jobs without a submission time are
    skipped; only the first ``limit`` jobs (by submission) are drawn, to stay readable.

    >>> plot_timeline(batch)  # doctest: +SKIP
    """
    plt, mdates = _pyplot_and_dates()
    from matplotlib.patches import Patch

    if limit <= 0:
        raise ValueError("limit must be positive")
    frame: pd.DataFrame = _jobs(jobs, ["status", "submitted_at", "completed_at"])
    ax = _axes(ax, plt)
    started = frame.loc[frame["submitted_at"].notna()].sort_values("submitted_at").head(limit)
    if not started.empty:
        latest = started[["submitted_at", "completed_at"]].max().max()
        ends = started["completed_at"].fillna(latest)
        left = mdates.date2num(started["submitted_at"].dt.tz_convert(None).to_numpy())
        right = mdates.date2num(ends.dt.tz_convert(None).to_numpy())
        colors = [STATUS_COLORS.get(str(s), _OTHER) for s in started["status"]]
        ax.barh(range(len(started)), right - left, left=left, height=0.8, color=colors)
        shown = dict.fromkeys(str(s) for s in started["status"])
        handles = [Patch(color=STATUS_COLORS.get(s, _OTHER), label=s) for s in shown]
        ax.legend(handles=handles, title="status")
        ax.xaxis_date()
        ax.invert_yaxis()
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("job (by submission)")
    ax.set_title(f"Job timeline ({len(started)} jobs)")
    return ax
