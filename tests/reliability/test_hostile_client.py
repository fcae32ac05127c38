"""Scenario 6: hostile replies to the client produce typed RutterErrors, never a crash or hang.

A real socket server answers with hypothesis-generated replies (bad JSON, wrong types,
missing fields, unknown statuses, enormous bodies, bad framing, bad ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rutter_nb
from rutter_nb import errors
from rutter_nb.errors import RutterError
from rutter_nb.polling import PollPolicy
from rutter_nb.retry import RetryPolicy

from .hostile_server import HostileServer
from .support import Row, record, sized

pytestmark = pytest.mark.reliability

SECRET = "hostile-canary-secret-0c8e"
TOKEN = "hostile-canary-token-91d2"
RETRY = RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.05, max_retry_after=0.05)
POLL = PollPolicy(initial=0.01, factor=1.5, max_interval=0.05, timeout=1.0, poll_retry=RETRY)
# Generous bound for one example (two calls, a retry each, a 1 s wait): a hang is far longer.
PER_EXAMPLE = 30.0

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
statuses = st.sampled_from(["prequeued", "pending", "success", "failure", "partial_success"])
weird = st.one_of(json_values, statuses, st.text(max_size=30))
job_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.uuids().map(str), weird),
        "status": st.one_of(statuses, weird),
        "request": weird,
        "response": st.one_of(
            st.fixed_dictionaries(
                {}, optional={"http_status": st.one_of(st.integers(), weird), "body": weird}
            ),
            weird,
        ),
    },
)
error_like = st.fixed_dictionaries(
    {}, optional={"error_type": weird, "error_code": weird, "error_message": weird}
)


def _deep(depth: int) -> bytes:
    inner = b"[" * depth + b"1" + b"]" * depth
    return (
        b'{"async_response": '
        + inner
        + b', "invoice": '
        + inner
        + b', "error_message": '
        + inner
        + b"}"
    )


def _enormous(size: int) -> bytes:
    return b'{"invoices": [' + b",".join([b'{"id": "x"}'] * (size // 12)) + b"]}"


bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    job_like.map(lambda v: json.dumps(v).encode()),
    job_like.map(lambda v: json.dumps({"async_response": v}).encode()),
    st.one_of(weird, job_like).map(lambda v: json.dumps({"invoice": v}).encode()),
    error_like.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([1 << 20, sized(2 << 20, 8 << 20)]).map(_enormous),
    st.sampled_from([b"[" * 100_000, b'{"a":' * 100_000, b"9" * 10_000, b"\xff\xfe\x00"]),
    st.sampled_from([900, 980]).map(_deep),  # parses, then meets every recursive helper
)
retry_afters = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats().map(repr),
    st.sampled_from(
        [
            "inf",
            "-inf",
            "nan",
            "1e309",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Mon, 01 Jan 2024 99999999999999999999:00:00 GMT",
            "Mon, 99999999999999999999 Jan 2024 00:00:00 GMT",
            "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
        ]
    ),
)
header_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)


@st.composite
def replies(draw: st.DrawFn) -> bytes:
    """Raw HTTP reply bytes: a status, some hostile headers, a hostile body and framing."""
    status = draw(
        st.sampled_from(
            [200, 201, 202, 204, 301, 400, 401, 404, 409, 410, 429, 450, 452, 500, 502, 503, 599]
        )
    )
    body = draw(bodies)
    headers = [
        ("Content-Type", draw(st.sampled_from(["application/json", "text/html", "", "json"])))
    ]
    retry_after = draw(retry_afters)
    if retry_after is not None and all(0x20 <= ord(c) <= 0x7E for c in retry_after):
        headers.append(("Retry-After", retry_after))
    job_id = draw(st.one_of(st.none(), st.uuids().map(str), header_values))
    if job_id is not None:
        headers.append(("X-Rutter-Job-ID", job_id))
    framing = draw(st.sampled_from(["length", "length", "short", "close", "chunked-bad"]))
    head = f"HTTP/1.1 {status} X\r\n".encode()
    if framing == "length":
        headers.append(("Content-Length", str(len(body))))
    elif framing == "short":  # promises more than it sends, then closes
        headers.append(("Content-Length", str(len(body) + 10)))
    elif framing == "chunked-bad":
        headers.append(("Transfer-Encoding", "chunked"))
    headers.append(("Connection", "close"))
    lines = b"".join(f"{k}: {v}\r\n".encode() for k, v in headers)
    out: bytes = head + lines + b"\r\n" + body
    return out


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as srv:
        yield srv


def _client(server: HostileServer) -> rutter_nb.Client:
    return rutter_nb.Client(
        server.url + "/versioned",
        client_id="hostile-client",
        client_secret=SECRET,
        access_token=TOKEN,
        retry=RETRY,
        poll=POLL,
        timeout=10.0,
    )


def _invoice() -> rutter_nb.ApiRequest:
    return rutter_nb.invoice(
        customer_id="c1",
        issue_date="2024-05-01",
        currency_code="USD",
        line_items=[{"total_amount": 1}],
    ).with_idempotency_key(str(uuid.uuid4()))


def test_hostile_replies_raise_only_typed_errors(server: HostileServer) -> None:
    outcomes: Counter[str] = Counter()
    slowest = 0.0

    @settings(
        max_examples=sized(150, 1000),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(reply=replies())
    def one(reply: bytes) -> None:
        nonlocal slowest
        server.reply = reply
        started = time.monotonic()
        with _client(server) as client:
            for name, call in (
                ("send", lambda: client.send(_invoice(), "async")),
                ("fetch", lambda: client.fetch_job(str(uuid.uuid4()))),
                ("list", lambda: client.send(rutter_nb.request("GET", "/accounting/invoices"))),
            ):
                try:
                    result = call()
                    if isinstance(result, rutter_nb.Job) and not result.done:
                        result.wait(timeout=1.0)  # polls the same hostile server
                    outcomes[f"{name}: ok"] += 1
                except RutterError as exc:
                    outcomes[f"{name}: {type(exc).__name__}"] += 1
                    for secret in (SECRET, TOKEN):
                        assert secret not in str(exc) and secret not in repr(exc)
        elapsed = time.monotonic() - started
        slowest = max(slowest, elapsed)
        assert elapsed < PER_EXAMPLE

    one()  # any exception other than RutterError fails the test with its example
    total = sum(outcomes.values())
    assert total >= 3 * 100  # every example made its three calls
    assert any(key.endswith(": ok") for key in outcomes)  # some replies were acceptable
    assert any("ResponseFormatError" in key for key in outcomes)
    record(
        Row(
            "6 hostile replies to the client",
            requests=server.requests,
            lost=0,
            duplicated=0,
            leaked=0,
            server_errors=0,
            notes=f"{total} calls, only RutterErrors; slowest example {slowest:.1f}s",
        )
    )


def test_hostile_replies_to_the_async_client_raise_only_typed_errors(
    server: HostileServer,
) -> None:
    @settings(
        max_examples=sized(40, 300),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(reply=replies())
    def one(reply: bytes) -> None:
        server.reply = reply

        async def main() -> None:
            async with rutter_nb.AsyncClient(
                server.url + "/versioned",
                client_id="hostile-client",
                client_secret=SECRET,
                access_token=TOKEN,
                retry=RETRY,
                poll=POLL,
                timeout=10.0,
            ) as client:
                for call in (
                    lambda: client.send(_invoice(), "async"),
                    lambda: client.afetch_job(str(uuid.uuid4())),
                ):
                    try:
                        result = await call()
                        if isinstance(result, rutter_nb.Job) and not result.done:
                            await result.wait_async(timeout=1.0)
                    except RutterError:
                        pass

        asyncio.run(asyncio.wait_for(main(), PER_EXAMPLE))

    one()


# Replies hypothesis found that once escaped as ValueError, OverflowError or RecursionError.
FOUND = [
    ("huge integer body", 500, {}, b"9" * 10_000, errors.ServerError),
    ("huge integer job", 200, {}, b'{"async_response": {"id": 1' + b"0" * 5000 + b"}}", None),
    ("nested 980 deep", 409, {"X-Rutter-Job-ID": "j1"}, _deep(980), None),
    ("nested 980 deep error", 400, {}, _deep(980), errors.ValidationError),
    (
        "20-digit day",
        503,
        {"Retry-After": "Mon, 99999999999999999999 Jan 2024 00:00:00 GMT"},
        b"{}",
        errors.ServerError,
    ),
    (
        "20-digit year",
        429,
        {"Retry-After": "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"},
        b"{}",
        errors.RateLimited,
    ),
]


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [case[1:] for case in FOUND],
    ids=[case[0] for case in FOUND],
)
def test_replies_that_once_crashed_the_client_are_typed_errors(
    server: HostileServer,
    status: int,
    headers: dict[str, str],
    body: bytes,
    expected: type[RutterError] | None,
) -> None:
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    )
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    server.reply = (head + extra + "\r\n").encode() + body
    with _client(server) as client:
        with pytest.raises(RutterError) as caught:
            client.send(_invoice(), "async").raise_for_error()
        if expected is not None:
            assert type(caught.value) is expected
        with pytest.raises(RutterError):
            client.fetch_job(str(uuid.uuid4()))


@pytest.mark.parametrize(
    "token",
    ['{"rutter_nb_job": 1' + "0" * 5000 + "}", "[" * 100_000, "\ud800", ""],
    ids=["huge integer", "deep nesting", "lone surrogate", "empty"],
)
def test_hostile_job_tokens_are_invalid_requests(server: HostileServer, token: str) -> None:
    with _client(server) as client, pytest.raises(errors.InvalidRequest):
        client.resume(token)
