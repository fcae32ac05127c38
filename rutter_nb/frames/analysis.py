"""The questions analysts ask of a batch first: how many of each status, how slow, how fast.

Each helper takes a jobs frame (from ``jobs_frame``) or anything ``jobs_frame`` accepts,
and returns a frame whose shape does not depend on the data: every status is counted
(zeros included), every minute between the first and last completion is present.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rutter_nb.frames._schema import KNOWN_STATUSES

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["latency_percentiles", "status_counts", "throughput"]

_TERMINAL = ("success", "partial_success", "failure")


def _jobs(frame_or_jobs: Any, needed: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    from rutter_nb.frames.build import jobs_frame

    if isinstance(frame_or_jobs, pd.DataFrame):
        missing = [c for c in needed if c not in frame_or_jobs.columns]
        if missing:
            raise ValueError(
                f"the frame lacks {', '.join(missing)}: pass a frame made by jobs_frame() "
                "or the jobs themselves"
            )
        return frame_or_jobs
    return jobs_frame(frame_or_jobs, entities=())


def status_counts(jobs: Any) -> pd.Series:
    """Jobs per status, every known status listed (zero when absent), lifecycle order.

    >>> status_counts(batch)  # doctest: +SKIP
    """
    frame = _jobs(jobs, ["status"])
    counts = frame["status"].value_counts(sort=False, dropna=False)
    order = [*KNOWN_STATUSES, *(s for s in counts.index if s not in KNOWN_STATUSES)]
    result = counts.reindex(order, fill_value=0).astype("int64")
    result.index = result.index.astype(object)
    result.index.name = "status"
    result.name = "jobs"
    return result


def latency_percentiles(
    jobs: Any,
    percentiles: Sequence[float] = (0.5, 0.9, 0.95, 0.99),
    by: Sequence[str] = ("entity", "status"),
) -> pd.DataFrame:
    """Count, mean, percentiles and max of ``duration_s`` per group (default entity, status).

    Jobs without a duration (still running, or timings unknown) are left out of the
    statistics but not of ``jobs``. Column names are ``p50``, ``p90``... .

    >>> latency_percentiles(batch)  # doctest: +SKIP
    """
    if not all(0 <= p <= 1 for p in percentiles):
        raise ValueError("percentiles must be fractions between 0 and 1, e.g. 0.95")
    by = list(by)
    frame = _jobs(jobs, ["duration_s", *by])
    grouped = frame.groupby(by, observed=True, dropna=False, sort=True)["duration_s"]
    stats = grouped.agg(["size", "count", "mean", "max"])
    stats.columns = ["jobs", "timed", "mean_s", "max_s"]
    for p in percentiles:
        stats[f"p{round(p * 100, 1):g}"] = grouped.quantile(p)
    names = [f"p{round(p * 100, 1):g}" for p in percentiles]
    return stats[["jobs", "timed", "mean_s", *names, "max_s"]]


def throughput(jobs: Any, freq: str = "1min") -> pd.DataFrame:
    """Completed jobs per time bucket (default a minute), one column per terminal status.

    Buckets run from the first to the last completion with no gaps (empty ones are 0),
    labelled by their start in UTC; ``total`` is the row sum.

    >>> throughput(batch).plot()  # doctest: +SKIP
    """
    import pandas as pd

    frame = _jobs(jobs, ["status", "completed_at"])
    done = frame.loc[frame["completed_at"].notna(), ["status", "completed_at"]]
    statuses = list(_TERMINAL)
    if done.empty:
        index = pd.DatetimeIndex([], tz="UTC", name="minute" if freq == "1min" else "bucket")
        return pd.DataFrame(
            {s: pd.Series([], dtype="int64") for s in [*statuses, "total"]}, index=index
        )
    buckets = done["completed_at"].dt.floor(freq)
    table = pd.crosstab(buckets, done["status"].astype(object))
    full = pd.date_range(buckets.min(), buckets.max(), freq=freq)
    table = table.reindex(index=full, columns=statuses, fill_value=0).astype("int64")
    table["total"] = table.sum(axis=1)
    table.index.name = "minute" if freq == "1min" else "bucket"
    table.columns.name = None
    return table
