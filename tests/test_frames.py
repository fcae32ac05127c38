"""jobs_frame, records_frame, errors_frame and to_frames on job dicts and webhook payloads.

Every test runs twice: with the C reader and with the Python reader (``reader`` fixture).
"""

from __future__ import annotations

import copy
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from frames_readers import use_reader

from rutter_nb.frames import (
    errors_frame,
    jobs_frame,
    record_paths,
    records_frame,
    sample_jobs,
    to_frames,
)
from rutter_nb.frames._columns import string_dtype
from rutter_nb.frames._schema import CORE_COLUMNS, KNOWN_STATUSES

URL = "https://sandbox.rutterapi.com/versioned/accounting/invoices"


def job(
    job_id: str = "job-1",
    status: str = "success",
    *,
    request_body: Any = None,
    response: Any = None,
    client: Any = None,
    url: str = URL,
) -> dict[str, Any]:
    """A hand-made AsynchronousJob dict (client block optional)."""
    out: dict[str, Any] = {
        "id": job_id,
        "status": status,
        "request": {"method": "POST", "url": url, "body": request_body},
    }
    if response is not None:
        out["response"] = response
    if client is not None:
        out["client"] = client
    return out


def invoice_body(**fields: Any) -> dict[str, Any]:
    return {"response_mode": "async", "invoice": {"customer_id": "cus_1", **fields}}


@pytest.fixture(autouse=True, params=["c", "python"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    use_reader(request.param, monkeypatch)
    return str(request.param)


# --- schema stability -------------------------------------------------------------------


def test_same_columns_and_dtypes_for_success_failure_and_empty_batches() -> None:
    successes = jobs_frame(sample_jobs(20, failure_rate=0.0, seed=1))
    failures = jobs_frame(sample_jobs(20, failure_rate=1.0, seed=2))
    empty = jobs_frame([])

    assert (successes["status"] == "success").all()
    assert (failures["status"] == "failure").all()
    assert len(empty) == 0
    assert list(successes.columns) == list(failures.columns) == list(empty.columns)
    assert successes.dtypes.equals(failures.dtypes)
    assert successes.dtypes.equals(empty.dtypes)


def test_columns_do_not_depend_on_which_entities_are_present() -> None:
    bills = [
        job(
            "b1",
            request_body={"bill": {"vendor_id": "v1"}},
            url="https://x/versioned/accounting/bills",
        )
    ]
    invoices = [job("i1", request_body=invoice_body())]

    assert list(jobs_frame(bills).columns) == list(jobs_frame(invoices).columns)
    assert jobs_frame(bills).loc[0, "request.bill.vendor_id"] == "v1"


def test_core_columns_come_first_in_declared_order() -> None:
    frame = jobs_frame(sample_jobs(3, seed=3), entities="invoice")
    core = [name for name, _ in CORE_COLUMNS]

    assert list(frame.columns[: len(core)]) == core
    assert "request.invoice.customer_id" in frame.columns
    assert "response.invoice.total_amount" in frame.columns
    assert not any(c.startswith("request.bill.") for c in frame.columns)


# --- types ------------------------------------------------------------------------------


def test_declared_dtypes() -> None:
    frame = jobs_frame(sample_jobs(10, seed=4), entities="invoice")

    assert isinstance(frame["status"].dtype, pd.CategoricalDtype)
    assert list(frame["status"].cat.categories) == list(KNOWN_STATUSES)
    assert frame["http_status"].dtype == "Int64"
    assert frame["polls"].dtype == "Int64"
    assert frame["sync"].dtype == "boolean"
    assert frame["replayed"].dtype == "boolean"
    assert isinstance(frame["job_id"].dtype, pd.StringDtype)
    assert isinstance(frame["request.invoice.memo"].dtype, pd.StringDtype)
    assert str(frame["submitted_at"].dtype) == "datetime64[us, UTC]"
    assert str(frame["request.invoice.issue_date"].dtype) == "datetime64[us, UTC]"
    assert frame["duration_s"].dtype == np.float64
    assert frame["response.invoice.total_amount"].dtype == np.float64
    assert frame["request.invoice.line_items"].dtype == object


def test_values_of_one_job_dict_with_client_block() -> None:
    source = sample_jobs(1, failure_rate=0.0, seed=5)[0]
    row = jobs_frame([source], entities="invoice").iloc[0]
    invoice = source["response"]["body"]["invoice"]

    assert row["job_id"] == source["id"]
    assert row["status"] == "success"
    assert row["http_status"] == 200
    assert row["method"] == "POST"
    assert row["path"] == "/accounting/invoices"
    assert row["entity"] == "invoice"
    assert row["response_mode"] == "async"
    assert row["idempotency_key"] == source["request"]["idempotency_key"]
    assert row["submitted_at"] == pd.Timestamp(source["client"]["submitted_at"])
    assert row["duration_s"] == source["client"]["duration"]
    assert row["polls"] == source["client"]["polls"]
    assert not row["sync"]
    assert pd.isna(row["error_type"])
    assert row["response.invoice.total_amount"] == float(invoice["total_amount"])
    assert row["request.invoice.line_items"] == source["request"]["body"]["invoice"]["line_items"]


def test_money_strings_become_floats_or_stay_text_on_request() -> None:
    jobs = [
        job(
            response={"http_status": 200, "body": {"invoice": {"total_amount": "1234.50"}}},
            request_body=invoice_body(),
        )
    ]

    as_float = jobs_frame(jobs, entities="invoice")
    as_text = jobs_frame(jobs, entities="invoice", money="str")

    assert as_float.loc[0, "response.invoice.total_amount"] == 1234.5
    assert as_text.loc[0, "response.invoice.total_amount"] == "1234.50"
    assert isinstance(as_text["response.invoice.total_amount"].dtype, pd.StringDtype)


def test_2024_money_numbers_give_the_same_floats_as_2023_strings() -> None:
    old = jobs_frame(sample_jobs(5, seed=6, version="2023-03-14"), entities="invoice")
    new = jobs_frame(sample_jobs(5, seed=6, version="2024-08-31"), entities="invoice")

    pd.testing.assert_series_equal(
        old["response.invoice.total_amount"], new["response.invoice.total_amount"]
    )


def test_unknown_status_is_kept_and_appended_to_the_categories() -> None:
    frame = jobs_frame([job("a", "success"), job("b", "exploded")])

    assert list(frame["status"]) == ["success", "exploded"]
    assert list(frame["status"].cat.categories) == [*KNOWN_STATUSES, "exploded"]


# --- input kinds ------------------------------------------------------------------------


def test_webhook_payloads_give_the_same_frame_as_job_dicts() -> None:
    jobs = sample_jobs(8, seed=7)
    webhooks = [{"type": "JOB", "code": "JOB_COMPLETED", "job": j} for j in jobs]

    pd.testing.assert_frame_equal(jobs_frame(webhooks), jobs_frame(jobs))


def test_a_job_seen_twice_is_one_row_holding_its_latest_state() -> None:
    pending = job("j1", "pending")
    done = job("j1", "success", response={"http_status": 200, "body": {"invoice": {}}})
    webhook = {"type": "JOB", "code": "JOB_COMPLETED", "job": done}

    frame = jobs_frame([pending, job("j2", "pending"), webhook, webhook])

    assert list(frame["job_id"]) == ["j1", "j2"]
    assert list(frame["status"]) == ["success", "pending"]


def test_plain_get_jobs_json_without_client_block() -> None:
    raw = job(
        "j1",
        "failure",
        request_body={"invoice": {"customer_id": "c"}},
        response={
            "http_status": 450,
            "body": {
                "error_type": "PLATFORM_ERROR",
                "error_code": "PLATFORM_VALIDATION",
                "error_message": "customer inactive",
            },
        },
        url="https://production.rutterapi.com/versioned/accounting/invoices?response_mode=async",
    )
    raw["created_at"] = "2026-01-05T09:00:00.000Z"
    raw["updated_at"] = "2026-01-05T09:00:02.500Z"

    row = jobs_frame([raw]).iloc[0]

    assert row["entity"] == "invoice"
    assert row["path"] == "/accounting/invoices"
    assert row["response_mode"] == "async"
    assert row["http_status"] == 450
    assert (row["error_type"], row["error_code"]) == ("PLATFORM_ERROR", "PLATFORM_VALIDATION")
    assert row["error_message"] == "customer inactive"
    assert row["duration_s"] == 2.5
    assert pd.isna(row["sync"]) and pd.isna(row["polls"])


def test_entity_from_the_path_when_the_body_has_no_wrapper() -> None:
    jobs = [
        job("a", url="https://x/versioned/accounting/journal_entries/abc-123"),
        job("b", url="/accounting/bank_transfers"),
        job("c", url="https://x/versioned/products"),
    ]

    assert list(jobs_frame(jobs)["entity"]) == ["journal_entry", "bank_transfer", "product"]


def test_a_batch_like_object_is_read_through_its_jobs() -> None:
    jobs = sample_jobs(4, seed=8)
    batch = SimpleNamespace(jobs=jobs, rejected=[])

    pd.testing.assert_frame_equal(jobs_frame(batch), jobs_frame(jobs))


def test_any_iterable_of_jobs_is_accepted() -> None:
    jobs = sample_jobs(3, seed=9)

    pd.testing.assert_frame_equal(jobs_frame(iter(jobs)), jobs_frame(jobs))
    pd.testing.assert_frame_equal(jobs_frame(tuple(jobs)), jobs_frame(jobs))


# --- secrets ----------------------------------------------------------------------------


def test_access_token_in_urls_and_messages_never_reaches_the_frame() -> None:
    secret = "tok_live_SECRETSECRET42"
    leaky = job(
        "j1",
        "failure",
        request_body=invoice_body(),
        url=f"{URL}?access_token={secret}",
        response={
            "http_status": 400,
            "body": {
                "error_type": "INVALID_REQUEST",
                "error_code": "BAD",
                "error_message": f"bad call ?access_token={secret}",
            },
        },
    )
    leaky["request"]["body"]["invoice"]["access_token"] = secret

    frames = to_frames([leaky], extra="keep")
    text = " ".join(
        frame.astype(str).to_csv()
        for frame in [frames.jobs, frames.errors, *frames.records.values()]
    )

    assert secret not in text
    assert frames.jobs.loc[0, "path"] == "/accounting/invoices"


# --- bad input: no exception, documented missing values ---------------------------------


def test_jobs_with_missing_fields_give_missing_values() -> None:
    frame = jobs_frame([{}, {"id": "only-id"}, {"status": "pending"}])

    assert len(frame) == 3
    assert frame["job_id"].isna().tolist() == [True, False, True]
    assert frame["status"].isna().tolist() == [True, True, False]
    assert frame["http_status"].isna().all()
    assert frame["submitted_at"].isna().all()
    assert frame["request.invoice.customer_id"].isna().all()


@pytest.mark.parametrize("body", [None, "text", 42, ["a", "list"], {"invoice": None}])
def test_null_and_non_object_bodies_give_missing_values(body: Any) -> None:
    frame = jobs_frame(
        [job(request_body=body, response={"http_status": 200, "body": body})], entities="invoice"
    )

    assert frame.loc[0, "status"] == "success"
    assert frame.loc[0, "http_status"] == 200
    assert frame.filter(like=".invoice.").isna().all().all()


def test_non_object_request_and_response_give_missing_values() -> None:
    weird = {"id": "j", "status": "success", "request": "GET /x", "response": [1, 2], "client": 3}

    row = jobs_frame([weird]).iloc[0]

    assert row["job_id"] == "j"
    assert pd.isna(row["method"]) and pd.isna(row["http_status"]) and pd.isna(row["polls"])


def test_values_of_the_wrong_type_become_missing() -> None:
    bad = job(
        "j",
        "success",
        request_body=invoice_body(issue_date="not a date", memo={"an": "object"}, line_items="x"),
        response={
            "http_status": "two hundred",
            "body": {"invoice": {"total_amount": "n/a", "sub_total": True, "created_at": 12345}},
        },
        client={"polls": "many", "sync": "yes", "duration": "slow", "attempts": 2.0},
    )

    row = jobs_frame([bad], entities="invoice").iloc[0]

    assert pd.isna(row["http_status"])
    assert pd.isna(row["request.invoice.issue_date"])
    assert pd.isna(row["request.invoice.memo"])
    assert row["request.invoice.line_items"] is None
    assert np.isnan(row["response.invoice.total_amount"])
    assert np.isnan(row["response.invoice.sub_total"])
    assert pd.isna(row["response.invoice.created_at"])
    assert pd.isna(row["polls"]) and pd.isna(row["sync"]) and np.isnan(row["duration_s"])
    assert row["attempts"] == 2


def test_text_numbers_and_statuses_that_cannot_be_stored_give_no_exception() -> None:
    odd = job(
        "j",
        "\ud800",  # a lone surrogate: UTF-8 (so Arrow) cannot hold it
        request_body=invoice_body(memo="a\ud800b", customer_id=10**5000),
        response={"http_status": 200, "body": {"invoice": {"total_amount": 10**400}}},
    )
    listed = job("k", ["not", "hashable"])  # type: ignore[arg-type]

    frame = jobs_frame([odd, listed], entities="invoice")

    # Arrow-backed text (pandas 3) cannot hold the surrogate; pandas 2's object text can
    arrow = string_dtype().storage == "pyarrow"
    assert frame.loc[0, "request.invoice.memo"] == "a" + ("\ufffd" if arrow else chr(0xD800)) + "b"
    assert frame.loc[0, "status"] == "\ufffd" and pd.isna(frame.loc[1, "status"])
    assert pd.isna(frame.loc[0, "request.invoice.customer_id"])
    assert np.isnan(frame.loc[0, "response.invoice.total_amount"])


@pytest.mark.filterwarnings("error")
def test_an_integer_beyond_int64_is_missing_without_a_warning() -> None:
    beyond = job("j", "success", response={"http_status": 2**63, "body": {}}, client={"polls": 7})
    fine = job("k", "success", response={"http_status": 200, "body": {}})

    row = jobs_frame([beyond, fine], entities="invoice").iloc[0]

    assert pd.isna(row["http_status"]) and row["polls"] == 7


def test_huge_bodies_are_kept_without_error() -> None:
    memo = "x" * 5_000_000
    lines = [{"description": f"line {i}", "total_amount": i} for i in range(20_000)]
    big = job(request_body=invoice_body(memo=memo, line_items=lines))

    frame = jobs_frame([big], entities="invoice")
    records = records_frame([big], "request.invoice.line_items")

    assert len(frame.loc[0, "request.invoice.memo"]) == 5_000_000
    assert len(records) == 20_000
    assert records["total_amount"].sum() == sum(range(20_000))


def test_deeply_nested_undeclared_bodies_do_not_overflow_the_stack() -> None:
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(5_000):
        deep = {"next": deep}
    frame = jobs_frame([job(request_body=invoice_body(extra=deep))], extra="keep")

    assert any(c.startswith("request.invoice.extra.next") for c in frame.columns)


def test_input_is_not_modified() -> None:
    jobs = sample_jobs(5, seed=10)
    before = copy.deepcopy(jobs)

    to_frames(jobs, extra="keep")

    assert jobs == before


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (None, "got None"),
        (42, "got int"),
        ({"id": "a"}, "single dict"),
        ([{"id": "a"}, 7], "item 1 is a int"),
        (["a string"], "item 0 is a str"),
    ],
)
def test_input_that_is_not_jobs_is_a_type_error(bad: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        jobs_frame(bad)


def test_a_webhook_that_is_not_a_job_event_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="CONNECTION/CONNECTION_UPDATED webhook"):
        jobs_frame([{"type": "CONNECTION", "code": "CONNECTION_UPDATED", "connection": {}}])


def test_bad_options_are_value_errors() -> None:
    with pytest.raises(ValueError, match="known entities: invoice, bill"):
        jobs_frame([], entities="spaceship")
    with pytest.raises(ValueError, match="money must be"):
        jobs_frame([], money="decimal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="extra must be"):
        jobs_frame([], extra="all")  # type: ignore[arg-type]


def test_extra_keep_adds_undeclared_fields_after_the_declared_ones() -> None:
    jobs = [job(request_body=invoice_body(custom_field="hello", tags={"a": 1}))]

    dropped = jobs_frame(jobs, entities="invoice")
    kept = jobs_frame(jobs, entities="invoice", extra="keep")

    assert "request.invoice.custom_field" not in dropped.columns
    assert list(kept.columns[: len(dropped.columns)]) == list(dropped.columns)
    assert kept.loc[0, "request.invoice.custom_field"] == "hello"
    assert kept.loc[0, "request.invoice.tags.a"] == 1


# --- records_frame ----------------------------------------------------------------------


def test_records_frame_has_one_row_per_line_item_keyed_by_job_and_index() -> None:
    jobs = sample_jobs(6, line_items=5, failure_rate=0.0, seed=11)

    lines = records_frame(jobs, "request.invoice.line_items")

    assert len(lines) == 30
    assert list(lines.columns[:2]) == ["job_id", "index"]
    assert not lines.duplicated(["job_id", "index"]).any()
    assert list(lines["index"][:5]) == [0, 1, 2, 3, 4]
    first = jobs[0]["request"]["body"]["invoice"]["line_items"][0]
    assert lines.loc[0, "job_id"] == jobs[0]["id"]
    assert lines.loc[0, "description"] == first["description"]
    assert lines.loc[0, "item.unit_amount"] == first["item"]["unit_amount"]
    assert lines.loc[0, "item.quantity"] == first["item"]["quantity"]


def test_records_frame_of_responses_skips_failed_jobs_and_converts_money() -> None:
    jobs = sample_jobs(20, line_items=2, failure_rate=0.5, seed=12)
    successes = [j for j in jobs if j["status"] == "success"]

    lines = records_frame(jobs, "response.invoice.line_items")

    assert len(lines) == 2 * len(successes)
    assert set(lines["job_id"]) == {j["id"] for j in successes}
    assert lines["unit_amount"].dtype == np.float64
    expected = float(successes[0]["response"]["body"]["invoice"]["line_items"][0]["unit_amount"])
    assert lines.loc[0, "unit_amount"] == expected


def test_records_frame_columns_are_the_same_when_there_are_no_records() -> None:
    full = records_frame(sample_jobs(3, seed=13), "request.invoice.line_items")
    empty = records_frame([], "request.invoice.line_items")
    none = records_frame(sample_jobs(3, line_items=0, seed=13), "request.invoice.line_items")

    assert list(full.columns) == list(empty.columns) == list(none.columns)
    assert full.dtypes.equals(empty.dtypes)


def test_records_frame_of_an_undeclared_list_infers_its_columns() -> None:
    body = {"widget": {"parts": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 3, "w": 1.5}]}}
    scalars = {"widget": {"parts": ["x", "y"]}}
    url = "https://x/versioned/widgets"
    jobs = [job("j1", request_body=body, url=url), job("j2", request_body=scalars, url=url)]

    parts = records_frame(jobs, "request.widget.parts")

    assert list(parts["job_id"]) == ["j1", "j1", "j2", "j2"]
    assert list(parts.columns) == ["job_id", "index", "value", "qty", "sku", "w"]
    assert parts["qty"].dtype == "Int64"
    assert parts.loc[1, "w"] == 1.5
    assert list(parts["value"][2:]) == ["x", "y"]


@pytest.mark.parametrize(
    "path", ["invoice.line_items", "request", "request.", "body.x", "request.invoice..x"]
)
def test_records_frame_rejects_malformed_paths(path: str) -> None:
    with pytest.raises(ValueError, match=r"must start with 'request\.' or 'response\.'"):
        records_frame([], path)


def test_records_frame_rejects_a_declared_field_that_is_not_a_list() -> None:
    with pytest.raises(ValueError, match="declared str field, not a list"):
        records_frame([], "request.invoice.memo")


# --- errors_frame -----------------------------------------------------------------------


def test_errors_frame_lists_failed_jobs_with_the_request_that_explains_them() -> None:
    jobs = sample_jobs(30, failure_rate=0.3, seed=14)
    failed = [j for j in jobs if j["status"] == "failure"]

    errors = errors_frame(jobs, entities="invoice")

    assert list(errors["job_id"]) == [j["id"] for j in failed]
    assert (errors["source"] == "job").all()
    assert errors["error_type"].notna().all() and errors["error_code"].notna().all()
    assert list(errors["http_status"]) == [j["response"]["http_status"] for j in failed]
    assert list(errors["request.invoice.customer_id"]) == [
        j["request"]["body"]["invoice"]["customer_id"] for j in failed
    ]
    assert not any(c.startswith("response.") for c in errors.columns)


def test_errors_frame_includes_a_batch_rejected_requests() -> None:
    request = SimpleNamespace(
        method="POST",
        path="/accounting/invoices",
        body={"invoice": {"customer_id": "cus_9"}},
        idempotency_key="key-1",
        entity="invoice",
        response_mode="async",
    )
    error = SimpleNamespace(
        http_status=400, error_type="INVALID_REQUEST", error_code="MISSING", error_message="no"
    )
    batch = SimpleNamespace(
        jobs=sample_jobs(4, failure_rate=0.0, seed=15),
        rejected=[SimpleNamespace(request=request, error=error)],
    )

    errors = errors_frame(batch, entities="invoice")

    assert len(errors) == 1
    row = errors.iloc[0]
    assert row["source"] == "rejected" and pd.isna(row["job_id"])
    assert (row["http_status"], row["error_type"], row["error_code"]) == (
        400,
        "INVALID_REQUEST",
        "MISSING",
    )
    assert row["path"] == "/accounting/invoices" and row["idempotency_key"] == "key-1"
    assert row["request.invoice.customer_id"] == "cus_9"


def test_errors_frame_has_the_same_columns_with_and_without_errors() -> None:
    some = errors_frame(sample_jobs(10, failure_rate=0.5, seed=16))
    none = errors_frame(sample_jobs(10, failure_rate=0.0, seed=16))

    assert len(none) == 0 and len(some) > 0
    assert list(some.columns) == list(none.columns)
    assert some.dtypes.equals(none.dtypes)


# --- to_frames --------------------------------------------------------------------------


def test_to_frames_equals_the_three_functions() -> None:
    jobs = sample_jobs(12, failure_rate=0.25, seed=17)

    frames = to_frames(jobs, entities="invoice")

    pd.testing.assert_frame_equal(frames.jobs, jobs_frame(jobs, entities="invoice"))
    pd.testing.assert_frame_equal(frames.errors, errors_frame(jobs, entities="invoice"))
    assert list(frames.records) == record_paths("invoice")
    for path, frame in frames.records.items():
        pd.testing.assert_frame_equal(frame, records_frame(jobs, path))
    assert "request.invoice.line_items" in repr(frames)


def test_import_rutter_nb_does_not_import_pandas() -> None:
    code = "import sys, rutter_nb; print('pandas' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.split() == ["False", "False"]


def test_a_job_like_object_without_to_dict_is_read_through_its_attributes() -> None:
    error = SimpleNamespace(
        http_status=450, error_type="PLATFORM_ERROR", error_code="X", error_message="nope"
    )
    failed = SimpleNamespace(
        id="j1",
        status="failure",
        request={"method": "POST", "url": URL, "body": invoice_body()},
        response={"http_status": 450, "body": None},
        sync=False,
        replayed=True,
        response_mode="async",
        entity="invoice",
        submitted_at=pd.Timestamp("2026-01-05T09:00:00Z").to_pydatetime(),
        completed_at=pd.Timestamp("2026-01-05T09:00:03Z").to_pydatetime(),
        duration=3.0,
        polls=4,
        attempts=1,
        error=error,
    )

    row = jobs_frame([failed], entities="invoice").iloc[0]

    assert (row["job_id"], row["status"], row["http_status"]) == ("j1", "failure", 450)
    assert (row["error_type"], row["error_code"], row["error_message"]) == (
        "PLATFORM_ERROR",
        "X",
        "nope",
    )
    assert bool(row["replayed"]) and row["polls"] == 4 and row["duration_s"] == 3.0
    assert row["completed_at"] == pd.Timestamp("2026-01-05T09:00:03Z")
    assert row["request.invoice.customer_id"] == "cus_1"


# --- Job objects: read through Job._snapshot(), not the deep copies of to_dict() ---------


def _job_objects() -> list[Any]:
    from rutter_nb.frames.sample import sample_job_objects
    from rutter_nb.jobs import Job

    jobs = sample_job_objects(40, failure_rate=0.3, seed=11, line_items=3)
    pending = Job("job-pending", "pending", request={"method": "POST", "url": URL})
    partial = Job(
        "job-partial",
        "partial_success",
        request={"method": "POST", "url": URL, "body": invoice_body(memo="half")},
        response={"http_status": 200, "body": {"invoice": {"id": "inv_1", "total_amount": 5}}},
        sync=True,
        entity="invoice",
    )
    return [*jobs, pending, partial]


def test_frames_of_job_objects_equal_frames_of_their_to_dict_output() -> None:
    jobs = _job_objects()
    dicts = [j.to_dict() for j in jobs]

    pd.testing.assert_frame_equal(jobs_frame(jobs), jobs_frame(dicts))
    pd.testing.assert_frame_equal(errors_frame(jobs), errors_frame(dicts))
    for path in ("request.invoice.line_items", "response.invoice.line_items"):
        pd.testing.assert_frame_equal(records_frame(jobs, path), records_frame(dicts, path))
    from_objects, from_dicts = to_frames(jobs), to_frames(dicts)
    pd.testing.assert_frame_equal(from_objects.jobs, from_dicts.jobs)
    pd.testing.assert_frame_equal(from_objects.errors, from_dicts.errors)
    assert len(from_objects.errors) == sum(j.status == "failure" for j in jobs) > 0
    assert from_objects.jobs["status"].tolist()[-2:] == ["pending", "partial_success"]


def test_job_objects_are_read_without_to_dict_and_are_left_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rutter_nb.jobs import Job

    jobs = _job_objects()
    before = [j.to_dict() for j in jobs]

    def no_deep_copies(self: Job) -> dict[str, Any]:
        raise AssertionError("the frames must not deep-copy jobs through to_dict()")

    monkeypatch.setattr(Job, "to_dict", no_deep_copies)
    frame = jobs_frame(jobs, entities="invoice", extra="keep")
    records_frame(jobs, "response.invoice.line_items")
    monkeypatch.undo()

    assert frame["job_id"].tolist() == [d["id"] for d in before]
    assert [j.to_dict() for j in jobs] == before


def test_dict_subclasses_are_read_like_plain_dicts() -> None:
    from collections import OrderedDict

    plain = job("j1", request_body=invoice_body(memo="m"))
    ordered = OrderedDict(plain)
    webhook = {"type": "JOB", "code": "JOB_COMPLETED", "job": OrderedDict(job("j2"))}

    frame = jobs_frame([ordered, webhook], entities="invoice")

    assert frame["job_id"].tolist() == ["j1", "j2"]
    assert frame["request.invoice.memo"].tolist()[0] == "m"
    pd.testing.assert_frame_equal(frame.iloc[:1], jobs_frame([plain], entities="invoice"))
