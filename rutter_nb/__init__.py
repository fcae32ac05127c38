"""rutter_nb: explore, demo and analyse Rutter's asynchronous-job API from a notebook.

Public names are re-exported here; everything else is private to its module.
"""

from __future__ import annotations

from rutter_nb import errors, webhooks
from rutter_nb.batch import Batch
from rutter_nb.builders import (
    bill,
    customer,
    invoice,
    invoice_payment,
    item,
    journal_entry,
    product,
    vendor,
)
from rutter_nb.client import AsyncClient, Client, connect
from rutter_nb.errors import (
    AuthenticationError,
    IdempotencyConflict,
    JobTimeout,
    NotFound,
    PlatformError,
    PlatformRateLimited,
    RateLimited,
    RutterError,
    ServerError,
    TransportError,
    UnknownJobStatus,
    ValidationError,
)
from rutter_nb.frames import (
    errors_frame,
    jobs_frame,
    latency_percentiles,
    plot_latency,
    plot_timeline,
    read_parquet,
    records_frame,
    status_counts,
    throughput,
    to_frames,
    to_parquet,
)
from rutter_nb.jobs import Job
from rutter_nb.polling import PollPolicy
from rutter_nb.requests import ApiRequest, request
from rutter_nb.retry import RetryPolicy
from rutter_nb.widgets import BatchBoard, JobView

__version__ = "0.1.0"

__all__ = [
    "ApiRequest",
    "AsyncClient",
    "AuthenticationError",
    "Batch",
    "BatchBoard",
    "Client",
    "IdempotencyConflict",
    "Job",
    "JobTimeout",
    "JobView",
    "NotFound",
    "PlatformError",
    "PlatformRateLimited",
    "PollPolicy",
    "RateLimited",
    "RetryPolicy",
    "RutterError",
    "ServerError",
    "TransportError",
    "UnknownJobStatus",
    "ValidationError",
    "__version__",
    "bill",
    "connect",
    "customer",
    "errors",
    "errors_frame",
    "invoice",
    "invoice_payment",
    "item",
    "jobs_frame",
    "journal_entry",
    "latency_percentiles",
    "plot_latency",
    "plot_timeline",
    "product",
    "read_parquet",
    "records_frame",
    "request",
    "status_counts",
    "throughput",
    "to_frames",
    "to_parquet",
    "vendor",
    "webhooks",
]
