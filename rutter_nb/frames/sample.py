"""Deterministic, realistic invoice jobs for demos, docs and benchmarks of the frames.

Each job is the AsynchronousJob JSON of an invoice create (2023-03-14 shapes: money as
decimal strings; or 2024-08-31: numbers) plus the ``"client"`` block of ``Job.to_dict()``,
so notebooks can show the frames without a server and the benchmark has 100k jobs.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rutter_nb.jobs import Job

__all__ = ["sample_job_objects", "sample_jobs"]

_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_ERRORS = (
    (400, "INVALID_REQUEST", "INVALID_FIELD", "line_items[0].item.id does not exist"),
    (450, "PLATFORM_ERROR", "PLATFORM_VALIDATION", "Customer is inactive in QuickBooks"),
    (409, "INVALID_REQUEST", "IDEMPOTENCY_MISMATCH", "Idempotency-Key reused with another body"),
)
_ITEMS = ("Consulting hours", "Annual licence", "Support plan", "Onboarding", "Hardware")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _money(cents: int, as_text: bool) -> str | float:
    return f"{cents / 100:.2f}" if as_text else cents / 100


def sample_jobs(
    n: int,
    *,
    line_items: int = 5,
    failure_rate: float = 0.1,
    seed: int = 0,
    version: str = "2023-03-14",
    per_minute: int = 1500,
) -> list[dict[str, Any]]:
    """``n`` invoice-create jobs as dicts; ``failure_rate`` of them failed (with an error).

    >>> jobs = sample_jobs(3, seed=1)
    >>> sorted(jobs[0])
    ['client', 'id', 'request', 'response', 'status']
    """
    if n < 0 or line_items < 0 or not 0 <= failure_rate <= 1 or per_minute <= 0:
        raise ValueError("n and line_items must be >= 0, failure_rate in [0, 1], per_minute > 0")
    rng = random.Random(seed)
    as_text = version == "2023-03-14"
    customers = [_uuid(rng) for _ in range(200)]
    items = [_uuid(rng) for _ in range(50)]
    account = _uuid(rng)
    jobs = []
    for i in range(n):
        submitted = _START + timedelta(seconds=i * 60 / per_minute)
        duration = rng.uniform(0.2, 4.0)
        if rng.random() < 0.05:  # a slow tail, as real platforms have
            duration += rng.uniform(5, 30)
        duration = round(duration, 3)
        completed = submitted + timedelta(seconds=duration)
        issue = _START.date() - timedelta(days=rng.randrange(30))
        lines: list[dict[str, Any]] = []
        for k in range(line_items):
            quantity = rng.randrange(1, 10)
            unit = rng.randrange(500, 50_000)
            lines.append(
                {
                    "description": _ITEMS[k % len(_ITEMS)],
                    "total_amount": quantity * unit / 100,
                    "account_id": account,
                    "item": {
                        "id": rng.choice(items),
                        "quantity": quantity,
                        "unit_amount": unit / 100,
                    },
                }
            )
        invoice = {
            "customer_id": rng.choice(customers),
            "account_id": account,
            "issue_date": f"{issue.isoformat()}T00:00:00.000Z",
            "due_date": f"{(issue + timedelta(days=30)).isoformat()}T00:00:00.000Z",
            "currency_code": "USD",
            "document_number": f"INV-{i:06d}",
            "memo": f"Batch invoice {i}",
            "line_items": lines,
        }
        failed = rng.random() < failure_rate
        if failed:
            status_code, etype, ecode, message = _ERRORS[rng.randrange(len(_ERRORS))]
            response: dict[str, Any] = {
                "http_status": status_code,
                "body": {"error_type": etype, "error_code": ecode, "error_message": message},
            }
        else:
            sub_total = sum(round(line["total_amount"] * 100) for line in lines)
            tax = sub_total * 8 // 100
            response = {
                "http_status": 200,
                "body": {
                    "invoice": {
                        "id": _uuid(rng),
                        "platform_id": str(10_000 + i),
                        **{k: v for k, v in invoice.items() if k != "line_items"},
                        "status": "open",
                        "amount_due": _money(sub_total + tax, as_text),
                        "sub_total": _money(sub_total, as_text),
                        "tax_amount": _money(tax, as_text),
                        "total_amount": _money(sub_total + tax, as_text),
                        "line_items": [
                            {
                                "id": _uuid(rng),
                                "description": line["description"],
                                "quantity": line["item"]["quantity"],
                                "unit_amount": _money(
                                    round(line["item"]["unit_amount"] * 100), as_text
                                ),
                                "total_amount": _money(round(line["total_amount"] * 100), as_text),
                                "account_id": account,
                                "item_id": line["item"]["id"],
                            }
                            for line in lines
                        ],
                        "created_at": _iso(completed),
                        "updated_at": _iso(completed),
                    }
                },
            }
        jobs.append(
            {
                "id": _uuid(rng),
                "status": "failure" if failed else "success",
                "request": {
                    "method": "POST",
                    "url": "https://sandbox.rutterapi.com/versioned/accounting/invoices",
                    "body": {"response_mode": "async", "invoice": invoice},
                    "idempotency_key": _uuid(rng),
                },
                "response": response,
                "client": {
                    "sync": False,
                    "replayed": False,
                    "response_mode": "async",
                    "entity": "invoice",
                    "submitted_at": _iso(submitted),
                    "completed_at": _iso(completed),
                    "duration": duration,
                    "polls": 1 + int(duration // 0.5),
                    "attempts": 1,
                },
            }
        )
    return jobs


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def sample_job_objects(n: int, **options: Any) -> list[Job]:
    """``sample_jobs(n, **options)`` as finished ``rutter_nb.jobs.Job`` objects, no server.

    Each job owns its request and response dicts, as a job read from Rutter does, so
    benchmarks and tests read real ``Job`` objects (``polls`` stays 0: nothing polled).

    >>> [job.status for job in sample_job_objects(2, failure_rate=1.0)]
    ['failure', 'failure']
    """
    from rutter_nb.jobs import Job

    jobs = []
    for data in sample_jobs(n, **options):
        client = data["client"]
        jobs.append(
            Job(
                data["id"],
                data["status"],
                request=data["request"],
                response=data.get("response"),
                sync=client["sync"],
                replayed=client["replayed"],
                response_mode=client["response_mode"],
                entity=client["entity"],
                submitted_at=_moment(client["submitted_at"]),
                completed_at=_moment(client["completed_at"]),
                attempts=client["attempts"],
            )
        )
    return jobs
