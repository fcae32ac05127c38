"""The frames of real Job objects and a real Batch, sent to the embedded sandbox over sockets."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import rutter_nb
from rutter_nb.frames import errors_frame, jobs_frame, records_frame, to_frames
from rutter_nb.polling import PollPolicy
from rutter_nb.retry import RetryPolicy
from rutter_nb.sandbox import Sandbox

POLL = PollPolicy(initial=0.05, factor=1.5, max_interval=0.5, timeout=60.0)
RETRY = RetryPolicy(max_retries=2, base_delay=0.05, max_retry_after=3.0)
MISSING = "00000000-0000-4000-8000-000000000000"


def client_for(sb: Sandbox, **kw: Any) -> rutter_nb.Client:
    return rutter_nb.Client(
        sb.base_url,
        client_id=sb.client_id,
        client_secret=sb.client_secret,
        access_token=sb.access_token,
        poll=POLL,
        retry=RETRY,
        **kw,
    )


def invoice(customer_id: str, n: int, **kw: Any) -> rutter_nb.ApiRequest:
    return rutter_nb.invoice(
        customer_id=customer_id,
        issue_date="2024-05-01",
        currency_code="USD",
        document_number=f"FRAMES-{n}",
        line_items=[
            {"total_amount": 100.0 + n, "description": "consulting"},
            {"total_amount": 20.5, "description": "travel"},
        ],
        **kw,
    )


def first_customer(client: rutter_nb.Client) -> str:
    page = client.send(rutter_nb.request("GET", "/accounting/customers")).result
    return str(page["customers"][0]["id"])


def test_jobs_frame_of_real_jobs_holds_what_the_jobs_say(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        customer = first_customer(client)
        quick = client.send(invoice(customer, 1), "prefer_sync")
        later = client.send(invoice(customer, 2), "async").wait()
        failed = client.send(invoice(MISSING, 3), "async").wait()
        jobs = [quick, later, failed]

        frame = jobs_frame(jobs, entities="invoice")

    assert list(frame["job_id"]) == [j.id for j in jobs]
    assert list(frame["status"]) == [j.status for j in jobs] == ["success", "success", "failure"]
    assert list(frame["sync"]) == [j.sync for j in jobs] == [True, False, False]
    assert list(frame["http_status"]) == [j.http_status for j in jobs]
    assert list(frame["response_mode"]) == ["prefer_sync", "async", "async"]
    assert list(frame["polls"]) == [j.polls for j in jobs]
    assert list(frame["attempts"]) == [j.attempts for j in jobs]
    assert frame["duration_s"].tolist() == pytest.approx([j.duration for j in jobs])
    assert list(frame["submitted_at"]) == [pd.Timestamp(j.submitted_at) for j in jobs]
    assert (frame["entity"] == "invoice").all()
    assert (frame["path"] == "/accounting/invoices").all()
    assert frame.loc[2, "error_code"] == failed.error.error_code == "INVALID_REFERENCE"
    assert frame.loc[2, "http_status"] == 450
    assert frame.loc[1, "response.invoice.total_amount"] == later.result["invoice"]["total_amount"]
    assert frame.loc[1, "request.invoice.customer_id"] == customer
    assert pd.isna(frame.loc[2, "response.invoice.id"])


def test_real_jobs_give_the_same_frame_as_their_to_dict_saved_and_loaded(
    sandbox: Sandbox,
) -> None:
    with client_for(sandbox) as client:
        customer = first_customer(client)
        jobs = [client.send(invoice(customer, n), "async").wait() for n in range(3)]

    from_jobs = jobs_frame(jobs)
    from_dicts = jobs_frame([j.to_dict() for j in jobs])

    pd.testing.assert_frame_equal(from_jobs, from_dicts)


def test_2023_money_strings_from_the_sandbox_become_floats(sandbox: Sandbox) -> None:
    with client_for(sandbox, version="2023-03-14") as client:
        account = client.send(rutter_nb.request("GET", "/accounting/accounts")).result
        items = client.send(rutter_nb.request("GET", "/accounting/items")).result["items"]
        req = rutter_nb.invoice(
            customer_id=first_customer(client),
            issue_date="2024-05-01",
            due_date="2024-06-01",
            account_id=account["accounts"][0]["id"],
            currency_code="USD",
            line_items=[{"total_amount": "12.50", "item": {"id": items[0]["id"], "quantity": 1}}],
            version="2023-03-14",
        )
        job = client.send(req, "async").wait()
    assert job.succeeded, job.error
    assert isinstance(job.result["invoice"]["total_amount"], str)

    frame = jobs_frame([job], entities="invoice")
    kept = jobs_frame([job], entities="invoice", money="str")

    assert frame.loc[0, "response.invoice.total_amount"] == 12.5
    assert kept.loc[0, "response.invoice.total_amount"] == job.result["invoice"]["total_amount"]


def test_a_real_batch_gives_jobs_errors_with_rejected_requests_and_line_items(
    sandbox: Sandbox,
) -> None:
    with client_for(sandbox) as client:
        customer = first_customer(client)
        refused = rutter_nb.request("POST", "/accounting/invoices", body={"invoice": {"memo": "x"}})
        requests = [invoice(customer, 10), refused, invoice(MISSING, 11), invoice(customer, 12)]
        batch = client.send_many(requests, "async").wait(timeout=120)

    frames = to_frames(batch, entities="invoice")

    assert len(frames.jobs) == len(batch.jobs) == 3
    assert set(frames.jobs["job_id"]) == {j.id for j in batch.jobs}
    assert list(frames.errors["source"]) == ["job", "rejected"]
    rejected = frames.errors.iloc[1]
    assert pd.isna(rejected["job_id"])
    assert rejected["http_status"] == 400
    assert rejected["error_type"] == batch.rejected[0].error.error_type
    assert rejected["request.invoice.memo"] == "x"
    lines = frames.records["request.invoice.line_items"]
    assert len(lines) == 6
    assert lines.groupby("job_id")["total_amount"].sum().round(2).sort_values().tolist() == [
        130.5,
        131.5,
        132.5,
    ]
    pd.testing.assert_frame_equal(frames.errors, errors_frame(batch, entities="invoice"))
    pd.testing.assert_frame_equal(lines, records_frame(batch, "request.invoice.line_items"))
    text = " ".join(f.astype(str).to_csv() for f in [frames.jobs, frames.errors, lines])
    assert sandbox.client_secret not in text
    assert sandbox.access_token not in text
