"""Jobs, nested records and errors as tidy, typed pandas DataFrames, plus analysis helpers.

pandas is imported only when a function here is called, so ``import rutter_nb`` stays light;
matplotlib (extra ``plot``) and pyarrow (extra ``parquet``) only by the functions needing them.
"""

from __future__ import annotations

from rutter_nb.frames._extras import MissingExtraError
from rutter_nb.frames.analysis import latency_percentiles, status_counts, throughput
from rutter_nb.frames.build import (
    Frames,
    errors_frame,
    jobs_frame,
    record_paths,
    records_frame,
    to_frames,
)
from rutter_nb.frames.parquet import read_parquet, to_parquet
from rutter_nb.frames.plots import plot_latency, plot_timeline
from rutter_nb.frames.sample import sample_jobs

__all__ = [
    "Frames",
    "MissingExtraError",
    "errors_frame",
    "jobs_frame",
    "latency_percentiles",
    "plot_latency",
    "plot_timeline",
    "read_parquet",
    "record_paths",
    "records_frame",
    "sample_jobs",
    "status_counts",
    "throughput",
    "to_frames",
    "to_parquet",
]
