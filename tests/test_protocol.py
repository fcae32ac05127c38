"""protocol: the sans-I/O core, tested with hand-made httpx requests and responses."""

from __future__ import annotations

import json

import httpx
import pytest

from rutter_nb import errors
from rutter_nb.protocol import (
    Accepted,
    Finished,
    job_request,
    parse_job,
    parse_submit,
    prepare,
    retry_safe,
    wire_description,
)
from rutter_nb.redact import MASK
from rutter_nb.requests import request
from rutter_nb.settings import Settings

SETTINGS = Settings.resolve(
    "http://127.0.0.1:9/versioned",
    client_id="cid",
    client_secret="canary-protocol-secret",
    access_token="canary-protocol-token",
    environ={},
)
INVOICE = request("POST", "/accounting/invoices", body={"invoice": {"customer_id": "c"}})


def _reply(
    status: int, body: object = None, headers: dict[str, str] | None = None, **kw: object
) -> httpx.Response:
    if body is not None:
        return httpx.Response(status, json=body, headers=headers)
    return httpx.Response(status, headers=headers, **kw)  # type: ignore[arg-type]


def test_prepare_builds_the_exact_wire_request() -> None:
    req = prepare(INVOICE, SETTINGS, response_mode="async", idempotency_key="key-1")
    assert req.method == "POST"
    assert req.url.path == "/versioned/accounting/invoices"
    assert req.url.params["access_token"] == "canary-protocol-token"
    assert req.headers["X-Rutter-Version"] == "2024-08-31"
    assert req.headers["Idempotency-Key"] == "key-1"
    assert req.headers["Authorization"].startswith("Basic ")
    assert json.loads(req.content) == {"response_mode": "async", "invoice": {"customer_id": "c"}}


def test_prepare_report_get_puts_mode_in_query_and_jobs_need_no_token() -> None:
    report = request("GET", "/accounting/balance_sheets")
    req = prepare(report, SETTINGS, response_mode="prefer_sync")
    assert req.url.params["response_mode"] == "prefer_sync" and not req.content
    job = job_request("abc", SETTINGS)
    assert job.url.path == "/versioned/jobs/abc" and "access_token" not in job.url.params


def test_request_version_overrides_client_version() -> None:
    req = prepare(INVOICE._replace(version="2023-03-14"), SETTINGS)
    assert req.headers["X-Rutter-Version"] == "2023-03-14"


def test_missing_access_token_is_a_configuration_error() -> None:
    no_token = Settings.resolve(
        "http://h/versioned", client_id="a", client_secret="bbbbbb", environ={}
    )
    with pytest.raises(errors.ConfigurationError, match="access_token"):
        prepare(INVOICE, no_token)
    assert job_request("j", no_token).url.path == "/versioned/jobs/j"


def test_bad_job_ids_are_refused() -> None:
    for bad in ("", "a/b", "x?y"):
        with pytest.raises(errors.InvalidRequest):
            job_request(bad, SETTINGS)


def test_retry_safe_needs_a_key_for_post_and_patch() -> None:
    assert not retry_safe(INVOICE, None)
    assert retry_safe(INVOICE, "k")
    assert retry_safe(request("GET", "/accounting/invoices"), None)
    assert retry_safe(request("DELETE", "/accounting/invoices/1"), None)


def test_wire_description_is_redacted() -> None:
    desc = wire_description(INVOICE, SETTINGS, response_mode="async", idempotency_key="k")
    assert "canary-protocol" not in json.dumps(desc)
    assert desc["url"].endswith(f"access_token={MASK}")
    assert desc["idempotency_key"] == "k" and desc["body"]["response_mode"] == "async"
    assert "idempotency_key" not in wire_description(INVOICE, SETTINGS)


def test_parse_submit_sync_and_async() -> None:
    sync = parse_submit(_reply(200, {"invoice": {"id": "i"}}, {"X-Rutter-Job-ID": "j1"}), None)
    assert sync == Finished("j1", 200, {"invoice": {"id": "i"}}, False)
    body = {"async_response": {"id": "j2", "response_url": "u", "status": "pending"}}
    accepted = parse_submit(_reply(200, body, {"Idempotent-Replayed": "true"}), None)
    assert accepted == Accepted("j2", "pending", "u", True)


def test_non_2xx_with_job_id_is_a_failed_job_without_is_an_error() -> None:
    err = {"error_type": "PLATFORM_ERROR", "error_code": "X", "error_message": "no"}
    failed = parse_submit(_reply(450, err, {"X-Rutter-Job-ID": "j3"}), None)
    assert isinstance(failed, Finished) and failed.http_status == 450
    with pytest.raises(errors.ValidationError) as info:
        parse_submit(_reply(400, {**err, "error_type": "INVALID_REQUEST"}), INVOICE)
    assert info.value.error_code == "X" and info.value.request is INVOICE


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, errors.AuthenticationError),
        (409, errors.IdempotencyConflict),
        (429, errors.RateLimited),
        (452, errors.PlatformRateLimited),
        (503, errors.ServerError),
        (410, errors.NotFound),
    ],
)
def test_refusals_raise_their_class(status: int, cls: type[errors.RutterError]) -> None:
    with pytest.raises(cls) as info:
        parse_submit(
            _reply(status, {"error_type": "T", "error_code": "C", "error_message": "m"}), None
        )
    assert (info.value.http_status, info.value.error_type, info.value.error_message) == (
        status,
        "T",
        "m",
    )


def test_error_with_non_json_body_and_retry_after() -> None:
    reply = httpx.Response(429, text="<html>slow down</html>", headers={"Retry-After": "7"})
    with pytest.raises(errors.RateLimited) as info:
        parse_submit(reply, None)
    assert info.value.retry_after == 7.0 and "slow down" in str(info.value)


def test_malformed_json_is_a_response_format_error() -> None:
    reply = httpx.Response(200, content=b"{not json", headers={"Content-Type": "application/json"})
    with pytest.raises(errors.ResponseFormatError, match="not valid JSON"):
        parse_submit(reply, None)
    with pytest.raises(errors.ResponseFormatError, match="not valid JSON"):
        parse_job(reply)


@pytest.mark.parametrize(
    "body",
    [
        {"async_response": {"status": "pending"}},
        {"async_response": {"id": "j"}},
        {"async_response": "j"},
    ],
)
def test_async_response_missing_fields(body: object) -> None:
    with pytest.raises(errors.ResponseFormatError):
        parse_submit(_reply(200, body), None)


def test_parse_job_reads_and_redacts() -> None:
    body = {
        "id": "j",
        "status": "success",
        "request": {
            "method": "POST",
            "url": "http://h/versioned/x?access_token=canary-protocol-token",
        },
        "response": {"http_status": 200, "body": {"invoice": {"id": "i"}}},
        "created_at": "2024-05-01T00:00:00.000Z",
    }
    state = parse_job(_reply(200, body, {"Retry-After": "2"}))
    assert (state.id, state.status, state.retry_after) == ("j", "success", 2.0)
    assert state.request is not None and "canary" not in state.request["url"]
    assert state.response == {"http_status": 200, "body": {"invoice": {"id": "i"}}}


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ([], "not a JSON object"),
        ({"status": "pending"}, "without an id"),
        ({"id": "j"}, "without a status"),
        ({"id": "j", "status": "success", "response": {"body": {}}}, "http_status"),
        ({"id": "j", "status": "pending", "request": "POST"}, "'request' is not an object"),
    ],
)
def test_parse_job_missing_fields(body: object, match: str) -> None:
    with pytest.raises(errors.ResponseFormatError, match=match):
        parse_job(_reply(200, body))


def test_parse_job_keeps_an_unknown_status_for_the_caller_to_judge() -> None:
    assert parse_job(_reply(200, {"id": "j", "status": "exploded"})).status == "exploded"


def test_parse_job_unknown_id_is_not_found() -> None:
    with pytest.raises(errors.NotFound):
        parse_job(
            _reply(
                404,
                {"error_type": "NOT_FOUND", "error_code": "JOB_NOT_FOUND", "error_message": "x"},
            )
        )
