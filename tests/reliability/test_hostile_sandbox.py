"""Scenario 5: hostile input to the sandbox (schemathesis plus hand-written cases).

No reply may be a 5xx, every error body must be Rutter's triple, no rejected request may
leave a job behind, and the SQLite database must be intact afterwards.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from rutter_nb.sandbox import Sandbox

from .support import Row, all_jobs, is_error_triple, record, server_errors, sized

pytestmark = pytest.mark.reliability

VERSION = "2024-08-31"


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Sandbox]:
    """A sandbox with no practical rate limits and instant jobs, so every reply is quick."""
    with Sandbox(
        db=str(tmp_path / "hostile.sqlite3"),
        rate_limit="1000000/10",
        platform_rate="1000000/1",
        job_duration=(0.0, 0.01),
        sync_window=0.2,
        seed=5,
    ) as sb:
        yield sb


def _integrity(db: Path) -> tuple[str, dict[str, int]]:
    """SQLite's own integrity check and the row count of every table."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        check = con.execute("PRAGMA integrity_check").fetchone()[0]
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()
    return str(check), counts


def _basic(sb: Sandbox) -> str:
    return "Basic " + base64.b64encode(f"{sb.client_id}:{sb.client_secret}".encode()).decode()


def test_schemathesis_generated_requests_get_no_5xx_and_only_error_triples(
    target: Sandbox, tmp_path: Path
) -> None:
    sb = target
    schema = schemathesis.openapi.from_url(sb.url + "/openapi.json")
    # The /_sandbox/ hooks (reset, config) are test controls that may legitimately wipe
    # state or switch faults on; the hand-written cases below send them bad input instead.
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if not op.path.startswith("/_sandbox/")
    ]
    assert len(operations) >= 40  # every entity route plus jobs
    strategy = st.one_of(
        [op.as_strategy(mode) for op in operations for mode in GenerationMode]  # both modes
    )
    seen: Counter[int] = Counter()
    problems: list[str] = []
    job_ids: set[str] = set()
    calls = itertools.count()

    @settings(
        max_examples=sized(300, 1200),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(case=strategy)
    def hammer(case: Any) -> None:
        # Nine requests in ten carry valid credentials and access token (hypothesis would
        # draw booleans mostly False), so most of them reach the body checks.
        call = next(calls)
        credentials, token = call % 10 != 0, call % 10 != 5
        # Faults and job durations are sandbox test hooks, not input: keep them out.
        headers = {
            k: v
            for k, v in (case.headers or {}).items()
            if k.lower() not in ("x-sandbox-fault", "x-sandbox-job-duration")
        }
        if credentials:  # mostly get past authentication, so the body is looked at
            headers["Authorization"] = _basic(sb)
        case.headers = headers
        if token and not case.path.startswith("/versioned/jobs/"):
            # mostly a valid token (negative cases often drop it), so the body is reached
            case.query = {**(case.query if isinstance(case.query, dict) else {})}
            case.query["access_token"] = sb.access_token
        reply = case.call(base_url=sb.url, timeout=30)
        seen[reply.status_code] += 1
        if reply.status_code >= 500:
            problems.append(f"{reply.status_code} on {case.method} {case.path}: {reply.text}")
            return
        if reply.status_code >= 400 and not is_error_triple(_json(reply.content)):
            problems.append(f"{reply.status_code} body {reply.content[:200]!r}")
        job = reply.headers.get("X-Rutter-Job-ID") or reply.headers.get("x-rutter-job-id")
        if job:
            job_ids.add(job[0] if isinstance(job, list) else job)

    before = _integrity(tmp_path / "hostile.sqlite3")
    hammer()
    stats = sb.stats()
    check, after = _integrity(tmp_path / "hostile.sqlite3")

    requests = sum(seen.values())
    assert problems == []
    assert requests >= sized(300, 1000)
    assert server_errors(stats, "") == 0
    assert check == "ok"
    assert set(after) == set(before[1])  # no table dropped or added
    assert after["connections"] == before[1]["connections"]
    # every job the sandbox holds was reported to a caller: nothing stored for a refusal
    assert all_jobs(stats) == len(job_ids) == after["jobs"]
    record(
        Row(
            "5 hostile input to the sandbox (schemathesis)",
            requests=requests,
            lost=0,
            duplicated=all_jobs(stats) - len(job_ids),
            leaked=0,
            server_errors=server_errors(stats, ""),
            notes="statuses " + " ".join(f"{k}x{v}" for k, v in sorted(seen.items())),
        )
    )


def _json(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return None


# -- hand-written cases --------------------------------------------------------------


def _raw(
    sb: Sandbox,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    auth: bool = True,
) -> tuple[int, bytes]:
    """One request through http.client, which sends the path and body bytes unchanged."""
    con = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=60)
    try:
        sent = {"X-Rutter-Version": VERSION, "Content-Type": "application/json"}
        if auth:
            sent["Authorization"] = _basic(sb)
        sent.update(headers or {})
        con.request(method, path, body=body, headers=sent)
        reply = con.getresponse()
        return reply.status, reply.read()
    finally:
        con.close()


def _invoice(customer: str, **fields: Any) -> dict[str, Any]:
    return {
        "response_mode": "async",
        "invoice": {
            "customer_id": customer,
            "issue_date": "2024-05-01T00:00:00.000Z",
            "currency_code": "USD",
            "line_items": [{"total_amount": 10}],
            **fields,
        },
    }


SQL = "'; DROP TABLE entities; --"


def _cases(sb: Sandbox, customer: str) -> list[tuple[str, str, str, bytes | None, dict[str, str]]]:
    """(name, method, path, body, headers) of inputs no client library would send."""
    tok = f"access_token={sb.access_token}"
    inv = f"/versioned/accounting/invoices?{tok}"

    def body(value: object) -> bytes:
        return json.dumps(value).encode()

    deep = 990  # below json's own limit, so the parsed body reaches every recursive check
    return [
        ("body over the limit", "POST", inv, b'{"x":"' + b"a" * (2 << 20) + b'"}', {}),
        ("body far over the limit", "POST", inv, b"[" * (20 << 20), {}),
        ("nesting past the parser", "POST", inv, b"[" * 200_000 + b"]" * 200_000, {}),
        ("deep nesting in a field", "POST", inv, _in_memo(body(_invoice(customer)), deep), {}),
        ("deep nesting at the top", "POST", inv, b'{"invoice": ' + _nest(deep) + b"}", {}),
        ("deep nesting of objects", "POST", inv, b'{"x": ' + _nest_obj(deep) + b"}", {}),
        ("non-UTF-8 body", "POST", inv, b'{"invoice": "\xff\xfe\xfa"}', {}),
        ("UTF-16 body", "POST", inv, json.dumps(_invoice(customer)).encode("utf-16"), {}),
        ("lone surrogate escape", "POST", inv, b'{"invoice": {"memo": "\\ud800"}}', {}),
        ("NUL bytes", "POST", inv, body(_invoice(customer, memo="a\x00b")), {}),
        ("NaN", "POST", inv, b'{"invoice": {"line_items": [{"total_amount": NaN}]}}', {}),
        ("1e400", "POST", inv, b'{"invoice": {"line_items": [{"total_amount": 1e400}]}}', {}),
        ("huge integer", "POST", inv, b'{"invoice": {"total": ' + b"9" * 5000 + b"}}", {}),
        (
            "huge amount",
            "POST",
            inv,
            body(_invoice(customer, line_items=[{"total_amount": 1e308}, {"total_amount": 1e308}])),
            {},
        ),
        ("JSON array body", "POST", inv, b"[1, 2, 3]", {}),
        ("JSON string body", "POST", inv, b'"invoice"', {}),
        ("empty body", "POST", inv, b"", {}),
        ("invoice is a list", "POST", inv, body({"invoice": [1]}), {}),
        ("line_items is a string", "POST", inv, body(_invoice(customer, line_items="x")), {}),
        (
            "amount is a string",
            "POST",
            inv,
            body(_invoice(customer, line_items=[{"total_amount": "ten"}])),
            {},
        ),
        (
            "amount is a bool",
            "POST",
            inv,
            body(_invoice(customer, line_items=[{"total_amount": True}])),
            {},
        ),
        ("customer id is a number", "POST", inv, body(_invoice(customer, customer_id=7)), {}),
        ("customer id is SQL", "POST", inv, body(_invoice(customer, customer_id=SQL)), {}),
        (
            "response_mode is a list",
            "POST",
            inv,
            body({**_invoice(customer), "response_mode": ["async"]}),
            {},
        ),
        (
            "response_mode is an object",
            "POST",
            inv,
            body({**_invoice(customer), "response_mode": {"a": 1}}),
            {},
        ),
        (
            "response_mode sync",
            "POST",
            inv,
            body({**_invoice(customer), "response_mode": "sync"}),
            {},
        ),
        ("text/plain body", "POST", inv, body(_invoice(customer)), {"Content-Type": "text/plain"}),
        ("no content type", "POST", inv, body(_invoice(customer)), {"Content-Type": ""}),
        ("SQL idempotency key", "POST", inv, body(_invoice(customer)), {"Idempotency-Key": SQL}),
        (
            "long idempotency key",
            "POST",
            inv,
            body(_invoice(customer)),
            {"Idempotency-Key": "k" * 5000},
        ),
        (
            "bad job duration",
            "POST",
            inv,
            body(_invoice(customer)),
            {"X-Sandbox-Job-Duration": "nan"},
        ),
        ("unknown fault", "POST", inv, body(_invoice(customer)), {"X-Sandbox-Fault": SQL}),
        (
            "SQL access token",
            "GET",
            "/versioned/accounting/invoices?access_token=%27%20OR%20%271%27%3D%271",
            None,
            {},
        ),
        (
            "two access tokens",
            "GET",
            f"/versioned/accounting/invoices?{tok}&access_token=x",
            None,
            {},
        ),
        (
            "SQL cursor",
            "GET",
            f"/versioned/accounting/invoices?{tok}&cursor=%27%3B%20DROP",
            None,
            {},
        ),
        ("forged cursor", "GET", f"/versioned/accounting/invoices?{tok}&cursor=c2VxOi0x", None, {}),
        (
            "huge cursor",
            "GET",
            f"/versioned/accounting/invoices?{tok}&cursor=c2VxOjk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
            None,
            {},
        ),
        ("limit -1", "GET", f"/versioned/accounting/invoices?{tok}&limit=-1", None, {}),
        ("limit 1e3", "GET", f"/versioned/accounting/invoices?{tok}&limit=1e3", None, {}),
        (
            "limit superscript",
            "GET",
            f"/versioned/accounting/invoices?{tok}&limit=%C2%B2",
            None,
            {},
        ),
        (
            "cursor superscript",
            "GET",
            f"/versioned/accounting/invoices?{tok}&cursor=c2VxOsKy",
            None,
            {},
        ),
        (
            "limit huge",
            "GET",
            f"/versioned/accounting/invoices?{tok}&limit=" + "9" * 5000,
            None,
            {},
        ),
        ("SQL job id", "GET", "/versioned/jobs/%27%20OR%201%3D1%20--", None, {}),
        ("traversal job id", "GET", "/versioned/jobs/../../_sandbox/stats", None, {}),
        ("encoded traversal job id", "GET", "/versioned/jobs/..%2F..%2F_sandbox%2Fstats", None, {}),
        (
            "double-encoded traversal",
            "GET",
            "/versioned/jobs/%252e%252e%252fetc%252fpasswd",
            None,
            {},
        ),
        ("NUL in job id", "GET", "/versioned/jobs/abc%00def", None, {}),
        (
            "traversal entity id",
            "GET",
            f"/versioned/accounting/invoices/..%2F..%2Fetc%2Fpasswd?{tok}",
            None,
            {},
        ),
        (
            "SQL entity id",
            "PATCH",
            f"/versioned/accounting/invoices/%27%3B%20DROP%20TABLE%20entities%3B?{tok}",
            body({"invoice": {"memo": "x"}}),
            {},
        ),
        ("traversal delete", "DELETE", f"/versioned/accounting/customers/..%2F..?{tok}", None, {}),
        ("unknown route", "GET", "/versioned/../../etc/passwd", None, {}),
        ("unknown method", "PUT", inv, body(_invoice(customer)), {}),
        (
            "unknown version",
            "GET",
            f"/versioned/accounting/invoices?{tok}",
            None,
            {"X-Rutter-Version": SQL},
        ),
        (
            "bad basic auth",
            "GET",
            f"/versioned/accounting/invoices?{tok}",
            None,
            {"Authorization": "Basic %%%"},
        ),
        (
            "basic auth not UTF-8",
            "GET",
            f"/versioned/accounting/invoices?{tok}",
            None,
            {"Authorization": "Basic " + base64.b64encode(b"\xff:\xfe").decode()},
        ),
        (
            "config with bad types",
            "POST",
            "/_sandbox/config",
            body({"failure_rate": "lots", "faults": [1]}),
            {},
        ),
        ("config with unknown keys", "POST", "/_sandbox/config", body({"client_secret": "x"}), {}),
        ("config not an object", "POST", "/_sandbox/config", b"[]", {}),
    ]


def _nest(depth: int) -> bytes:
    """``depth`` nested lists as JSON text (json.dumps itself would hit the recursion limit)."""
    return b"[" * depth + b'"x"' + b"]" * depth


def _nest_obj(depth: int) -> bytes:
    return b'{"a": ' * depth + b'"x"' + b"}" * depth


def _in_memo(invoice: bytes, depth: int) -> bytes:
    """An otherwise valid invoice whose memo is ``depth`` nested lists."""
    return invoice.replace(b'"invoice": {', b'"invoice": {"memo": ' + _nest(depth) + b", ", 1)


def test_hand_written_hostile_requests_get_typed_errors_and_the_database_survives(
    target: Sandbox, tmp_path: Path
) -> None:
    sb = target
    db = tmp_path / "hostile.sqlite3"
    status, raw = _raw(sb, "GET", f"/versioned/accounting/customers?access_token={sb.access_token}")
    customer = json.loads(raw)["customers"][0]["id"]
    before = _integrity(db)
    config_before = _raw(sb, "GET", "/_sandbox/config")[1]

    outcomes: dict[str, int] = {}
    problems = []
    for name, method, path, content, headers in _cases(sb, customer):
        status, raw = _raw(sb, method, path, content, headers)
        outcomes[name] = status
        if status >= 500 or (status >= 400 and not is_error_triple(_json(raw))):
            problems.append(f"{name}: {status} {raw[:200]!r}")
    # an SQL-looking memo is data: stored and read back verbatim
    status, raw = _raw(
        sb,
        "POST",
        f"/versioned/accounting/invoices?access_token={sb.access_token}",
        json.dumps(_invoice(customer, memo=SQL, document_number=SQL)).encode(),
    )
    job_id = json.loads(raw)["async_response"]["id"]
    job = _wait(sb, job_id)
    stats = sb.stats()
    check, after = _integrity(db)

    assert problems == []
    assert outcomes["body over the limit"] == 413
    assert outcomes["non-UTF-8 body"] == 400
    assert outcomes["traversal job id"] in (401, 404)
    assert outcomes["SQL access token"] == 401
    assert job["status"] == "success"
    assert job["response"]["body"]["invoice"]["memo"] == SQL
    assert check == "ok"
    assert set(after) == set(before[1])
    assert after["connections"] == before[1]["connections"]
    assert after["entities"] >= before[1]["entities"]  # nothing deleted
    assert _raw(sb, "GET", "/_sandbox/config")[1] == config_before  # config unchanged
    assert server_errors(stats, "") == 0
    record(
        Row(
            "5 hostile input to the sandbox (hand-written)",
            requests=len(outcomes) + 1,
            lost=0,
            duplicated=0,
            leaked=0,
            server_errors=server_errors(stats, ""),
            notes=f"{len(outcomes)} cases; SQL stored verbatim; integrity_check {check}",
        )
    )


def _wait(sb: Sandbox, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        _, raw = _raw(sb, "GET", f"/versioned/jobs/{job_id}")
        job: dict[str, Any] = json.loads(raw)
        if job["status"] in ("success", "failure") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)
