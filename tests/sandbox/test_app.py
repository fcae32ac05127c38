"""The sandbox's HTTP behaviour over real sockets (uvicorn on a free port, httpx)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from rutter_nb.sandbox import Sandbox

from .helpers import client, first_id, invoice_body, wait_job

ERROR_KEYS = {"error_type", "error_code", "error_message"}
INVOICES = "/accounting/invoices"
QUICK = (0.05, 0.2)


def assert_error(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body: dict[str, Any] = reply.json()
    assert set(body) == ERROR_KEYS
    assert body["error_code"] == code
    return body


def jobs_total(sb: Sandbox) -> int:
    return sum(sb.stats()["jobs"].values())


# authentication, version, access token ---------------------------------------------
def test_basic_auth_is_required(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http)
        for auth in (None, (sandbox.client_id, "wrong-secret"), ("someone", sandbox.client_secret)):
            reply = httpx.post(
                sandbox.base_url + INVOICES,
                params={"access_token": sandbox.access_token},
                headers={"X-Rutter-Version": "2024-08-31"},
                json=body,
                auth=auth,
            )
            assert_error(reply, 401, "INVALID_CREDENTIALS")
        garbage = httpx.get(
            sandbox.base_url + "/jobs/x",
            headers={"Authorization": "Basic %%%not-base64", "X-Rutter-Version": "2024-08-31"},
        )
        assert_error(garbage, 401, "INVALID_CREDENTIALS")
    assert jobs_total(sandbox) == 0


def test_data_endpoints_need_a_known_access_token(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        missing = http.get(INVOICES, params={"access_token": ""})
        assert_error(missing, 401, "MISSING_ACCESS_TOKEN")
        unknown = http.get(INVOICES, params={"access_token": "not-a-token"})
        assert_error(unknown, 401, "INVALID_ACCESS_TOKEN")
        # GET /jobs/:id needs Basic only: an unknown job is a 404, not a 401
        job = httpx.get(
            f"{sandbox.base_url}/jobs/{uuid.uuid4()}",
            auth=(sandbox.client_id, sandbox.client_secret),
            headers={"X-Rutter-Version": "2024-08-31"},
        )
        assert_error(job, 404, "JOB_NOT_FOUND")


def test_version_header_is_required_and_must_be_known(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        del http.headers["X-Rutter-Version"]
        assert_error(http.get(INVOICES), 400, "MISSING_VERSION")
        reply = http.get(INVOICES, headers={"X-Rutter-Version": "2019-01-01"})
        body = assert_error(reply, 400, "UNKNOWN_VERSION")
        assert "2024-08-31" in body["error_message"]
        for version in ("2023-03-14", "2024-04-30", "2024-08-31", "unstable"):
            assert http.get(INVOICES, headers={"X-Rutter-Version": version}).status_code == 200


# response modes ---------------------------------------------------------------------
def test_response_mode_must_be_prefer_sync_or_async(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http)
        for mode in ("sync", "ASYNC", 1, None):
            reply = http.post(INVOICES, json={**body, "response_mode": mode})
            if mode is None:  # an explicit null is "omitted": prefer_sync
                assert reply.status_code == 200
            else:
                assert_error(reply, 400, "INVALID_RESPONSE_MODE")
        assert_error(
            http.post(INVOICES, json=body, params={"response_mode": "sync"}),
            400,
            "INVALID_RESPONSE_MODE",
        )


def test_response_mode_in_body_wins_over_query(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http, mode="async")
        reply = http.post(INVOICES, json=body, params={"response_mode": "prefer_sync"})
        assert "async_response" in reply.json()
        from_query = http.post(INVOICES, json=invoice_body(http), params={"response_mode": "async"})
        assert "async_response" in from_query.json()
        # a bad value is a 400 even where the other placement is good
        bad_query = http.post(INVOICES, json=body, params={"response_mode": ""})
        assert_error(bad_query, 400, "INVALID_RESPONSE_MODE")


def test_prefer_sync_is_the_default_and_replies_with_the_entity(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        reply = http.post(INVOICES, json=invoice_body(http, amount=42.5))
        assert reply.status_code == 200
        invoice = reply.json()["invoice"]
        assert invoice["total_amount"] == 42.5 and invoice["amount_due"] == 42.5
        job = http.get(f"/jobs/{reply.headers['X-Rutter-Job-ID']}").json()
        assert job["status"] == "success"
        assert job["response"] == {"http_status": 200, "body": reply.json()}
        assert http.get(f"{INVOICES}/{invoice['id']}").json()["invoice"] == invoice


def test_prefer_sync_falls_back_to_async_at_the_window_edge(sandbox_factory: Any) -> None:
    sb = sandbox_factory(sync_window=1.0, job_duration=QUICK)
    with client(sb) as http:
        body = invoice_body(http)
        inside = http.post(INVOICES, json=body, headers={"X-Sandbox-Job-Duration": "0.1"})
        assert "invoice" in inside.json()
        beyond = http.post(INVOICES, json=body, headers={"X-Sandbox-Job-Duration": "2.5"})
        assert beyond.status_code == 200
        async_response = beyond.json()["async_response"]
        assert async_response["status"] == "pending"
        assert async_response["id"] == beyond.headers["X-Rutter-Job-ID"]
        job = wait_job(http, async_response["id"])
        assert job["status"] == "success" and "invoice" in job["response"]["body"]


def test_async_replies_at_once_and_the_job_walks_its_statuses(sandbox_factory: Any) -> None:
    # one platform slot per minute: the second job must wait `prequeued`
    sb = sandbox_factory(platform_rate="1/60", job_duration=QUICK)
    with client(sb) as http:
        body = invoice_body(http, mode="async")
        first = http.post(INVOICES, json=body, headers={"X-Sandbox-Job-Duration": "1"})
        second = http.post(INVOICES, json=body, headers={"X-Sandbox-Job-Duration": "1"})
        for reply in (first, second):
            assert reply.status_code == 200
            assert reply.json()["async_response"]["status"] == "prequeued"
            assert reply.headers["X-Rutter-Job-ID"] == reply.json()["async_response"]["id"]
        first_id_ = first.json()["async_response"]["id"]
        seen = []
        for _ in range(200):
            status = http.get(f"/jobs/{first_id_}").json()["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == "success":
                break
            time.sleep(0.02)
        assert seen[-2:] == ["pending", "success"]
        assert (
            http.get(f"/jobs/{second.json()['async_response']['id']}").json()["status"]
            == "prequeued"
        )
        sb.configure(platform_rate="60/1")
        assert wait_job(http, second.json()["async_response"]["id"])["status"] == "success"


def test_job_record_has_request_response_and_timestamps(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http, mode="async")
        reply = http.post(INVOICES, json=body, headers={"Idempotency-Key": "job-record-1"})
        job = wait_job(http, reply.json()["async_response"]["id"])
        assert job["request"]["method"] == "POST"
        assert job["request"]["body"] == body
        assert job["request"]["idempotency_key"] == "job-record-1"
        assert job["request"]["url"].startswith(sandbox.base_url + INVOICES)
        assert sandbox.access_token not in json.dumps(job)
        assert job["response"]["http_status"] == 200
        assert job["created_at"] <= job["updated_at"] == job["completed_at"]
        assert job["completed_at"].endswith("Z")
        plain = http.post(INVOICES, json=body)
        plain_job = http.get(f"/jobs/{plain.headers['X-Rutter-Job-ID']}").json()
        assert "idempotency_key" not in plain_job["request"]


# two-stage validation ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda b: b["invoice"].pop("customer_id"), "MISSING_FIELD"),
        (lambda b: b.pop("invoice"), "MISSING_FIELD"),
        (lambda b: b["invoice"]["line_items"][0].update(total_amount="10"), "INVALID_FIELD"),
        (lambda b: b["invoice"].update(line_items=[]), "INVALID_FIELD"),
        (lambda b: b["invoice"].update(issue_date="yesterday"), "INVALID_FIELD"),
        (lambda b: b["invoice"].update(currency_code="dollars"), "INVALID_FIELD"),
        (lambda b: b.update(invoice=["not", "an", "object"]), "INVALID_FIELD"),
    ],
)
def test_bad_shapes_are_rejected_before_acceptance(
    sandbox: Sandbox, mutate: Any, code: str
) -> None:
    with client(sandbox) as http:
        body = invoice_body(http, mode="async")
        mutate(body)
        reply = http.post(INVOICES, json=body)
        assert_error(reply, 400, code)
        assert "X-Rutter-Job-ID" not in reply.headers
    assert jobs_total(sandbox) == 0
    assert sandbox.stats()["entities_created"] == {}


def test_malformed_json_and_non_objects_are_400(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        json_header = {"Content-Type": "application/json"}
        for raw, code in [
            (b"{not json", "MALFORMED_JSON"),
            (b'{"a": NaN}', "MALFORMED_JSON"),
            (b'{"a": 1e999}', "MALFORMED_JSON"),
            (b"[1, 2]", "INVALID_BODY"),
            (b"\xff\xfe{}", "INVALID_ENCODING"),
            (b"[" * 100_000 + b"]" * 100_000, "MALFORMED_JSON"),
        ]:
            assert_error(http.post(INVOICES, content=raw, headers=json_header), 400, code)
    assert jobs_total(sandbox) == 0


def test_version_2023_requires_more_fields(sandbox: Sandbox) -> None:
    with client(sandbox, version="2023-03-14") as http:
        body = invoice_body(http)
        del body["invoice"]["due_date"]
        body_2024 = json.loads(json.dumps(body))
        assert_error(http.post(INVOICES, json=body), 400, "MISSING_FIELD")
    with client(sandbox) as http:
        assert http.post(INVOICES, json=body_2024).status_code == 200


def test_unknown_references_are_accepted_and_the_job_fails_with_450(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        body = invoice_body(http, mode="async")
        body["invoice"]["customer_id"] = str(uuid.uuid4())
        reply = http.post(INVOICES, json=body)
        assert reply.status_code == 200
        job = wait_job(http, reply.json()["async_response"]["id"])
        assert job["status"] == "failure"
        assert job["response"]["http_status"] == 450
        assert set(job["response"]["body"]) == ERROR_KEYS
        assert job["response"]["body"]["error_code"] == "INVALID_REFERENCE"
        # prefer_sync: the synchronous reply is what the job would have returned
        del body["response_mode"]
        sync = http.post(INVOICES, json=body)
        assert_error(sync, 450, "INVALID_REFERENCE")
        assert sync.headers["X-Rutter-Job-ID"]
    assert sandbox.stats()["entities_created"] == {}


def test_unbalanced_journal_entries_fail_at_the_platform(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        account = first_id(http, "accounts")
        lines = [
            {"account_id": account, "total_amount": 10},
            {"account_id": account, "total_amount": -9},
        ]
        entry = {"transaction_date": "2024-08-01", "currency_code": "USD", "line_items": lines}
        reply = http.post("/accounting/journal_entries", json={"journal_entry": entry})
        assert_error(reply, 450, "UNBALANCED_JOURNAL_ENTRY")


# entities, versions, lists -------------------------------------------------------------
def test_money_is_a_decimal_string_in_2023_and_a_number_in_2024(sandbox: Sandbox) -> None:
    with client(sandbox, version="2023-03-14") as old:
        invoice = old.post(INVOICES, json=invoice_body(old, amount=12.5)).json()["invoice"]
        assert invoice["total_amount"] == "12.50"
        assert invoice["line_items"][0]["unit_amount"] == "12.50"
        listed = old.get(INVOICES).json()["invoices"][0]
        assert listed["amount_due"] == "12.50"
    with client(sandbox) as new:
        again = new.get(f"{INVOICES}/{invoice['id']}").json()["invoice"]
        assert again["total_amount"] == 12.5 and again["amount_due"] == 12.5


def _bodies(http: httpx.Client) -> dict[str, dict[str, Any]]:
    customer, vendor = first_id(http, "customers"), first_id(http, "vendors")
    account, item = first_id(http, "accounts"), first_id(http, "items")
    line = {"total_amount": 30, "account_id": account, "item": {"id": item, "quantity": 3}}
    return {
        "accounting/invoices": invoice_body(http),
        "accounting/bills": {
            "bill": {
                "vendor_id": vendor,
                "issue_date": "2024-08-01",
                "currency_code": "USD",
                "line_items": [line],
            }
        },
        "accounting/customers": {"customer": {"customer_name": "Umbrella", "email": "u@x.example"}},
        "accounting/vendors": {"vendor": {"vendor_name": "Ink Ltd", "currency_code": "EUR"}},
        "accounting/items": {"item": {"name": "Gadget", "type": "service"}},
        "accounting/accounts": {"account": {"name": "Savings", "account_type": "bank"}},
        "accounting/journal_entries": {
            "journal_entry": {
                "transaction_date": "2024-08-01",
                "currency_code": "USD",
                "line_items": [
                    {"account_id": account, "total_amount": 5},
                    {"account_id": account, "total_amount": -5},
                ],
            }
        },
        "accounting/invoice_payments": {
            "invoice_payment": {
                "account_id": account,
                "customer_id": customer,
                "txn_date": "2024-08-02",
                "currency_code": "USD",
                "total_amount": 10,
            }
        },
        "products": {
            "product": {
                "name": "Mug",
                "description": "A mug",
                "variants": [{"price": 9, "sku": "M1"}],
            }
        },
    }


def test_every_entity_route_creates_reads_updates_and_deletes(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        http.headers["X-Sandbox-Job-Duration"] = "0"
        for path, body in _bodies(http).items():
            (singular,) = [k for k in body if k != "response_mode"]
            created = http.post(f"/{path}", json=body)
            assert created.status_code == 200, (path, created.text)
            entity = created.json()[singular]
            assert uuid.UUID(entity["id"]) and entity["created_at"].endswith("Z")
            assert http.get(f"/{path}/{entity['id']}").json()[singular] == entity
            plural = path.rsplit("/", 1)[-1]
            listed = http.get(f"/{path}", params={"limit": 500}).json()
            assert entity["id"] in {e["id"] for e in listed[plural]}
            assert set(listed["connection"]) == {"id", "orgId", "platform"}
            if path == "products":
                assert http.patch(f"/{path}/{entity['id']}", json={}).status_code == 405
                continue
            patched = http.patch(f"/{path}/{entity['id']}", json={singular: {"memo": "patched"}})
            assert patched.status_code == 200, (path, patched.text)
            assert patched.json()[singular]["memo"] == "patched"
            deleted = http.request("DELETE", f"/{path}/{entity['id']}")
            assert deleted.status_code == 200, (path, deleted.text)
            assert deleted.json() == {singular: {"id": entity["id"], "deleted": True}}
            assert http.get(f"/{path}/{entity['id']}").status_code == 404
    created = sandbox.stats()["entities_created"]
    assert created == {"product": 1}  # everything else was deleted again


def test_patch_and_delete_of_unknown_ids_fail_in_the_job(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        missing = str(uuid.uuid4())
        reply = http.patch(f"{INVOICES}/{missing}", json={"invoice": {"memo": "x"}})
        assert_error(reply, 450, "ENTITY_NOT_FOUND")
        assert_error(http.delete(f"{INVOICES}/{missing}"), 450, "ENTITY_NOT_FOUND")
        assert_error(http.patch(f"{INVOICES}/not-a-uuid", json={"invoice": {}}), 400, "INVALID_ID")
        assert_error(
            http.patch(f"{INVOICES}/{missing}", json={"invoice": {}}), 400, "INVALID_FIELD"
        )


def test_invoice_payments_reduce_the_amount_due(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        invoice = http.post(INVOICES, json=invoice_body(http, amount=100)).json()["invoice"]
        payment = _bodies(http)["accounting/invoice_payments"]
        payment["invoice_payment"]["linked_invoices"] = [{"id": invoice["id"], "amount": 10}]
        assert http.post("/accounting/invoice_payments", json=payment).status_code == 200
        after = http.get(f"{INVOICES}/{invoice['id']}").json()["invoice"]
        assert after["amount_due"] == 90 and after["status"] == "partially_paid"


def test_lists_paginate_with_limit_and_cursor(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        for n in range(4):
            body = {"customer": {"customer_name": f"Customer {n}"}}
            assert http.post("/accounting/customers", json=body).status_code == 200
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = http.get("/accounting/customers", params=params).json()
            assert len(page["customers"]) <= 2
            seen += [c["id"] for c in page["customers"]]
            cursor = page["next_cursor"]
            pages += 1
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 7  # 3 seeded + 4 created
        assert pages == 4
        assert len(http.get("/accounting/customers").json()["customers"]) == 7  # limit 50
        assert_error(
            http.get("/accounting/customers", params={"cursor": "zzz"}), 400, "INVALID_CURSOR"
        )
        for limit in ("0", "501", "ten"):
            reply = http.get("/accounting/customers", params={"limit": limit})
            assert_error(reply, 400, "INVALID_LIMIT")


# bad input never yields a 500 ----------------------------------------------------------
def test_oversized_bodies_are_413(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        big = b'{"invoice": "' + b"x" * 1_100_000 + b'"}'
        reply = http.post(INVOICES, content=big, headers={"Content-Type": "application/json"})
        assert_error(reply, 413, "PAYLOAD_TOO_LARGE")

        def chunks() -> Any:
            for _ in range(20):
                yield b"x" * 100_000

        streamed = http.post(
            INVOICES, content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert_error(streamed, 413, "PAYLOAD_TOO_LARGE")


def test_wrong_content_type_is_415(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        raw = json.dumps(invoice_body(http))
        for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
            headers = {"Content-Type": ctype} if ctype else {}
            reply = http.post(INVOICES, content=raw, headers=headers)
            assert_error(reply, 415, "UNSUPPORTED_MEDIA_TYPE")
        charset = http.post(
            INVOICES, content=raw, headers={"Content-Type": "application/json; charset=utf-8"}
        )
        assert charset.status_code == 200


def test_unknown_routes_and_methods_answer_with_the_error_body(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        assert_error(http.get("/accounting/unicorns"), 404, "ROUTE_NOT_FOUND")
        assert_error(httpx.get(sandbox.url + "/nowhere"), 404, "ROUTE_NOT_FOUND")
        assert_error(http.put(INVOICES, json={}), 405, "METHOD_NOT_ALLOWED")
        assert_error(http.get(f"/jobs/{'%ff' * 3}"), 404, "JOB_NOT_FOUND")
        assert_error(http.get(f"{INVOICES}/%00%ff"), 404, "ENTITY_NOT_FOUND")
        body = invoice_body(http)
        bad_header = http.post(INVOICES, json=body, headers={"X-Sandbox-Job-Duration": "soon"})
        assert_error(bad_header, 400, "INVALID_SANDBOX_HEADER")
        bad_fault = http.post(INVOICES, json=body, headers={"X-Sandbox-Fault": "explode"})
        assert_error(bad_fault, 400, "INVALID_SANDBOX_FAULT")
        bad_key = http.post(INVOICES, json=body, headers={"Idempotency-Key": "x" * 300})
        assert_error(bad_key, 400, "INVALID_IDEMPOTENCY_KEY")
    counted = sandbox.stats()["requests"]
    assert all("500" not in codes for codes in counted.values())


# limits -------------------------------------------------------------------------------
def test_the_organisation_rate_limit_answers_429_with_retry_after(sandbox_factory: Any) -> None:
    sb = sandbox_factory(rate_limit="5/60", job_duration=QUICK)
    with client(sb) as http:
        replies = [http.get("/accounting/items") for _ in range(7)]
    assert [r.status_code for r in replies] == [200] * 5 + [429] * 2
    limited = assert_error(replies[-1], 429, "RATE_LIMIT_EXCEEDED")
    assert limited["error_type"] == "RATE_LIMIT_ERROR"
    assert 1 <= int(replies[-1].headers["Retry-After"]) <= 12
    assert sb.stats()["rate_limited"] == 2


def test_prefer_sync_meeting_the_platform_limit_gets_452(sandbox_factory: Any) -> None:
    sb = sandbox_factory(platform_rate="2/60", job_duration=QUICK)
    with client(sb) as http:
        body = invoice_body(http)
        ok = [http.post(INVOICES, json=body) for _ in range(2)]
        assert [r.status_code for r in ok] == [200, 200]
        limited = http.post(INVOICES, json=body, headers={"Idempotency-Key": "k-452"})
        assert_error(limited, 452, "PLATFORM_RATE_LIMIT_EXCEEDED")
        assert int(limited.headers["Retry-After"]) >= 1
        assert jobs_total(sb) == 2  # the 452 stored nothing
        queued = http.post(INVOICES, json={**body, "response_mode": "async"})
        assert queued.json()["async_response"]["status"] == "prequeued"
        assert sb.stats()["queued"] == 1
        sb.configure(platform_rate="60/1")
        # the same key may be retried: nothing was stored with it
        retried = http.post(INVOICES, json=body, headers={"Idempotency-Key": "k-452"})
        assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers


def test_async_jobs_pace_themselves_through_the_platform_limit(sandbox_factory: Any) -> None:
    sb = sandbox_factory(platform_rate="3/1", job_duration=(0, 0))
    with client(sb) as http:
        body = invoice_body(http, mode="async")
        ids = [http.post(INVOICES, json=body).json()["async_response"]["id"] for _ in range(9)]
        jobs = [wait_job(http, i) for i in ids]
    assert all(job["status"] == "success" for job in jobs)
    # 3 may start at once, then one every 1/3 s: the 9th cannot finish before 2 s have passed,
    # however fast (or slow) the requests arrived
    finished = sorted(datetime.fromisoformat(j["completed_at"]) for j in jobs)
    assert (finished[-1] - finished[0]).total_seconds() >= 2.0 - 0.01
    assert sb.stats()["platform_rate_limited"] == 0  # async writes never get 452


def test_failure_rate_fails_jobs_with_a_platform_error(sandbox: Sandbox) -> None:
    sandbox.configure(failure_rate=1.0)
    with client(sandbox) as http:
        reply = http.post(INVOICES, json=invoice_body(http, mode="async"))
        job = wait_job(http, reply.json()["async_response"]["id"])
    assert job["status"] == "failure"
    assert job["response"]["http_status"] == 450
    assert job["response"]["body"]["error_type"] == "PLATFORM_ERROR"


# sandbox-only routes -------------------------------------------------------------------
def test_stats_count_routes_statuses_jobs_and_entities(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        http.post(INVOICES, json=invoice_body(http))
        http.post(INVOICES, json={})
        stats = httpx.get(
            sandbox.url + "/_sandbox/stats", auth=(sandbox.client_id, sandbox.client_secret)
        )
    data = stats.json()
    assert data["requests"]["POST /versioned/accounting/invoices"] == {"200": 1, "400": 1}
    assert data["requests"]["GET /versioned/accounting/customers"] == {"200": 1}
    assert data["jobs"]["success"] == 1
    assert data["entities_created"] == {"invoice": 1}
    assert set(data["webhooks"]) >= {"attempts", "delivered", "retries", "failed"}
    assert sandbox.stats()["jobs"] == data["jobs"]


def test_sandbox_routes_need_basic_auth(sandbox: Sandbox) -> None:
    for method, path in [
        ("GET", "/_sandbox/stats"),
        ("POST", "/_sandbox/reset"),
        ("GET", "/_sandbox/config"),
        ("POST", "/_sandbox/connections"),
    ]:
        assert_error(httpx.request(method, sandbox.url + path), 401, "INVALID_CREDENTIALS")


def test_reset_forgets_jobs_entities_and_counters(sandbox: Sandbox) -> None:
    auth = (sandbox.client_id, sandbox.client_secret)
    with client(sandbox) as http:
        reply = http.post(INVOICES, json=invoice_body(http))
        job_id = reply.headers["X-Rutter-Job-ID"]
        assert httpx.post(sandbox.url + "/_sandbox/reset", auth=auth).json() == {"reset": True}
        assert_error(http.get(f"/jobs/{job_id}"), 404, "JOB_NOT_FOUND")
        assert http.get(INVOICES).json()["invoices"] == []
        assert len(http.get("/accounting/customers").json()["customers"]) == 3
    stats = sandbox.stats()
    assert sum(stats["jobs"].values()) == 0 and stats["entities_created"] == {}


def test_config_route_changes_runtime_settings(sandbox: Sandbox) -> None:
    auth = (sandbox.client_id, sandbox.client_secret)
    url = sandbox.url + "/_sandbox/config"
    changed = httpx.post(url, auth=auth, json={"failure_rate": 1.0, "faults": {"slow": 0.0}})
    assert changed.status_code == 200 and changed.json()["failure_rate"] == 1.0
    shown = httpx.get(url, auth=auth).text
    assert sandbox.client_secret not in shown and sandbox.access_token not in shown
    assert_error(httpx.post(url, auth=auth, json={"failure_rate": 7}), 400, "INVALID_CONFIG")
    assert_error(httpx.post(url, auth=auth, json={"client_secret": "x"}), 400, "INVALID_CONFIG")
    with client(sandbox) as http:
        assert http.post(INVOICES, json=invoice_body(http)).status_code == 450


def test_new_connections_get_their_own_token_and_data(sandbox: Sandbox) -> None:
    auth = (sandbox.client_id, sandbox.client_secret)
    created = httpx.post(sandbox.url + "/_sandbox/connections", auth=auth).json()
    with client(sandbox) as http:
        mine = http.get("/accounting/customers").json()
        theirs = http.get(
            "/accounting/customers", params={"access_token": created["access_token"]}
        ).json()
    assert theirs["connection"] == created["connection"] != mine["connection"]
    assert {c["id"] for c in mine["customers"]}.isdisjoint({c["id"] for c in theirs["customers"]})
