"""requests: ApiRequest is immutable, places response_mode by version, renders redacted."""

from __future__ import annotations

import shlex

import pytest

from rutter_nb.errors import InvalidRequest
from rutter_nb.redact import MASK
from rutter_nb.requests import ApiRequest, request, response_mode_placement


def _invoice() -> ApiRequest:
    return request("POST", "/accounting/invoices", body={"invoice": {"customer_id": "c1"}})


def test_request_is_immutable_and_copies_out() -> None:
    req = _invoice()
    with pytest.raises(AttributeError):
        req.method = "GET"  # type: ignore[misc]
    body = req.body
    body["invoice"]["customer_id"] = "changed"
    assert req.body == {"invoice": {"customer_id": "c1"}}


def test_with_methods_return_new_requests() -> None:
    req = _invoice()
    moded = req.with_response_mode("async")
    keyed = moded.with_idempotency_key("k-1")
    assert req.response_mode is None and moded.response_mode == "async"
    assert keyed.idempotency_key == "k-1" and moded.idempotency_key is None
    assert len(req.with_idempotency_key().idempotency_key or "") == 36  # a uuid4
    assert keyed == moded.with_idempotency_key("k-1") and hash(keyed) == hash(
        moded.with_idempotency_key("k-1")
    )


def test_entity_is_derived_from_the_path() -> None:
    assert _invoice().entity == "invoice"
    assert request("GET", "/accounting/journal_entries/6b1c-22").entity == "journal_entry"
    assert request("POST", "/products", body={}).entity == "product"
    assert request("GET", "/accounting/classes").entity == "class"


def test_versioned_prefix_is_accepted_and_urls_refused() -> None:
    assert request("GET", "/versioned/accounting/invoices").path == "/accounting/invoices"
    assert request("GET", "accounting/invoices").path == "/accounting/invoices"
    with pytest.raises(InvalidRequest, match="relative"):
        request("GET", "https://production.rutterapi.com/versioned/accounting/invoices")


@pytest.mark.parametrize(
    ("method", "path", "where"),
    [
        ("POST", "/accounting/invoices", "body"),
        ("PATCH", "/accounting/invoices/1", "body"),
        ("DELETE", "/accounting/invoices/1", "body"),
        ("GET", "/accounting/balance_sheets", "query"),
        ("GET", "/accounting/income_statements", "query"),
        ("GET", "/accounting/cash_flow_statements", "query"),
        ("GET", "/accounting/invoices", None),
    ],
)
def test_response_mode_placement(method: str, path: str, where: str | None) -> None:
    assert response_mode_placement(method, path) == where


def test_wire_body_and_query_place_the_mode() -> None:
    req = _invoice().with_response_mode("prefer_sync")
    assert req.wire_body("2024-08-31") == {
        "response_mode": "prefer_sync",
        "invoice": {"customer_id": "c1"},
    }
    assert "response_mode" not in req.wire_query("2024-08-31")
    report = request("GET", "/accounting/balance_sheets", query={"start_date": "2024-01-01"})
    assert report.wire_query("2024-08-31", "async") == {
        "start_date": "2024-01-01",
        "response_mode": "async",
    }
    assert report.wire_body("2024-08-31", "async") is None


def test_bad_input_gets_clear_typed_errors() -> None:
    with pytest.raises(InvalidRequest, match="no 'sync' mode"):
        _invoice().with_response_mode("sync")
    with pytest.raises(InvalidRequest, match="method"):
        request("FETCH", "/x")
    with pytest.raises(InvalidRequest, match="GET request cannot have a body"):
        request("GET", "/accounting/invoices", body={"a": 1})
    with pytest.raises(InvalidRequest, match="not JSON"):
        request("POST", "/accounting/invoices", body={"a": object()})
    with pytest.raises(InvalidRequest, match="takes no response_mode"):
        request("GET", "/accounting/invoices", response_mode="async")
    with pytest.raises(InvalidRequest, match="query"):
        request("GET", "/accounting/invoices?limit=1")


def test_idempotency_key_header_becomes_the_field() -> None:
    req = request("POST", "/accounting/invoices", body={}, headers={"Idempotency-Key": "abc"})
    assert req.idempotency_key == "abc" and "Idempotency-Key" not in req.headers


def test_repr_shows_wire_view_with_secrets_masked() -> None:
    req = request(
        "POST",
        "/accounting/invoices",
        body={"invoice": {"memo": "m"}, "client_secret": "canary-req-1"},
        headers={"Authorization": "Basic canary-req-2"},
        response_mode="async",
    )
    text = repr(req)
    html = req._repr_html_()
    for out in (text, html, req.to_curl()):
        assert "canary-req-1" not in out and "canary-req-2" not in out
    assert text.startswith("<ApiRequest POST /versioned/accounting/invoices?access_token=***>")
    assert "X-Rutter-Version: 2024-08-31" in text and '"response_mode": "async"' in text
    assert f"Authorization: {MASK}" in text  # the caller's own header, masked
    assert f"Authorization: Basic {MASK}" in repr(_invoice())
    assert "<pre>" in html and "response_mode" in html


def test_to_curl_is_runnable_shell_with_env_credentials() -> None:
    req = _invoice().with_idempotency_key("k-9").with_response_mode("async")
    words = shlex.split(req.to_curl("http://127.0.0.1:9/versioned"))
    assert words[:3] == ["curl", "-X", "POST"]
    assert words[3] == (
        "http://127.0.0.1:9/versioned/accounting/invoices?access_token=$RUTTER_ACCESS_TOKEN"
    )
    assert words[5] == "$RUTTER_CLIENT_ID:$RUTTER_CLIENT_SECRET"
    assert "Idempotency-Key: k-9" in words
    assert words[-1] == '{"response_mode": "async", "invoice": {"customer_id": "c1"}}'


def test_redacted_copy_masks_secret_fields() -> None:
    req = request(
        "GET", "/accounting/invoices", query={"access_token": "t0k"}, headers={"Cookie": "c"}
    )
    red = req.redacted()
    assert red.query["access_token"] == MASK and red.headers["Cookie"] == MASK
