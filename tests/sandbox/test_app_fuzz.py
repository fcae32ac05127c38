"""Random requests never get a 500 or a non-JSON reply (hypothesis, real sockets)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rutter_nb.sandbox import Sandbox

ERROR_KEYS = {"error_type", "error_code", "error_message"}
PATHS = [
    "/versioned/accounting/invoices",
    "/versioned/accounting/invoices/{id}",
    "/versioned/accounting/bills",
    "/versioned/accounting/journal_entries",
    "/versioned/products",
    "/versioned/jobs/{id}",
    "/_sandbox/config",
    "/versioned/{id}",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"invoice": json_values, "response_mode": st.sampled_from(["async", "prefer_sync", "x"])}
    ).map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
)


@pytest.fixture(scope="module")
def shared_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    db = Path(tmp_path_factory.mktemp("fuzz")) / "fuzz.sqlite3"
    with Sandbox(db=str(db), job_duration=(0, 0), sync_window=1.0, rate_limit="100000/1") as sb:
        yield sb


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT"]),
    path=st.sampled_from(PATHS),
    ident=st.text(min_size=1, max_size=40).filter(
        lambda s: "/" not in s and "?" not in s and "#" not in s
    ),
    body=bodies,
    ctype=st.sampled_from(["application/json", "text/plain", ""]),
    version=st.sampled_from(["2024-08-31", "2023-03-14", "bogus"]),
    authed=st.booleans(),
    query=st.dictionaries(
        st.sampled_from(["limit", "cursor", "response_mode"]), st.text(max_size=8)
    ),
)
def test_random_requests_get_a_json_reply_and_never_a_500(
    shared_sandbox: Sandbox,
    method: str,
    path: str,
    ident: str,
    body: bytes,
    ctype: str,
    version: str,
    authed: bool,
    query: dict[str, str],
) -> None:
    sb = shared_sandbox
    headers = {"X-Rutter-Version": version}
    if ctype:
        headers["Content-Type"] = ctype
    reply = httpx.request(
        method,
        sb.url + path.replace("{id}", quote(ident, safe="")),
        params={"access_token": sb.access_token, **query},
        headers=headers,
        content=body if method != "GET" else None,
        auth=(sb.client_id, sb.client_secret) if authed else None,
        timeout=30,
    )
    assert reply.status_code < 500, reply.text
    payload = reply.json()
    if reply.status_code >= 400:
        assert set(payload) == ERROR_KEYS
    assert "Traceback" not in reply.text
