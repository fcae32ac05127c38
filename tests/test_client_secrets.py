"""A canary secret through everything the client side produces: no repr, HTML, curl, log
record, exception text, traceback, token, dict or DataFrame may contain it."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import rutter_nb
from rutter_nb import errors
from rutter_nb.polling import PollPolicy
from rutter_nb.retry import RetryPolicy
from rutter_nb.sandbox import Sandbox

CLIENT_ID = "canary-client-id"
SECRET = "canary-secret-4f1e9a2b"
TOKEN = "canary-token-7c3d5e8f"
WRONG = "canary-wrong-secret-0b6a"
BASIC = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
WRONG_BASIC = base64.b64encode(f"{CLIENT_ID}:{WRONG}".encode()).decode()
POLL = PollPolicy(initial=0.05, max_interval=0.3, timeout=60.0)
FORBIDDEN = (SECRET, TOKEN, WRONG, BASIC, WRONG_BASIC)


def _text_of(obj: Any) -> str:
    """Every rendering a notebook or a log could show of an object."""
    parts = [repr(obj), str(obj)]
    for name in ("_repr_html_", "to_curl", "to_token"):
        method = getattr(obj, name, None)
        if callable(method):
            parts.append(str(method()))
    if hasattr(obj, "_repr_mimebundle_"):
        parts.append(json.dumps(obj._repr_mimebundle_(), default=str))
    if isinstance(obj, rutter_nb.Job):
        parts += [json.dumps(obj.to_dict()), json.dumps(obj.request), json.dumps(obj.response)]
        parts += [repr(obj.error), repr(obj.api_request)]
    if isinstance(obj, BaseException):
        parts += traceback.format_exception(obj)
        if isinstance(obj, errors.RutterError):
            parts += [repr(obj.request), json.dumps(obj.to_dict())]
    return "\n".join(parts)


def test_canary_secrets_never_leak(
    sandbox_factory: Callable[..., Sandbox],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    sb = sandbox_factory(
        client_id=CLIENT_ID,
        client_secret=SECRET,
        access_token=TOKEN,
        job_duration=(0.05, 0.1),
        sync_window=1.0,
    )
    seen: list[Any] = []
    caplog.set_level(logging.DEBUG)  # every logger, including rutter_nb's, at DEBUG
    client = rutter_nb.Client(
        sb.base_url,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        access_token=TOKEN,
        poll=POLL,
        retry=RetryPolicy(max_retries=2, base_delay=0.01),
    )
    seen.append(client)
    seen.append(client.settings)
    customers = client.send(rutter_nb.request("GET", "/accounting/customers"))
    customer = customers.result["customers"][0]["id"]
    seen.append(customers)
    # requests, including ones that carry secrets by hand
    leaky = rutter_nb.request(
        "POST",
        "/accounting/customers",
        body={"customer": {"customer_name": "Leak"}, "client_secret": SECRET},
        headers={"Authorization": f"Basic {BASIC}"},
        query={"access_token": TOKEN},
    )
    seen.append(leaky)
    inv = rutter_nb.invoice(
        customer_id=customer,
        issue_date="2024-05-01",
        currency_code="USD",
        line_items=[{"total_amount": 10}],
    )
    seen.append(inv)
    # every response mode, a failure, a replay, a retried fault
    for mode in (None, "prefer_sync", "async"):
        seen.append(client.send(inv, mode).wait())
    seen.append(
        client.send(
            rutter_nb.invoice(
                customer_id="00000000-0000-4000-8000-000000000000",
                issue_date="2024-05-01",
                currency_code="USD",
                line_items=[{"total_amount": 1}],
            ),
            "async",
        ).wait()
    )
    keyed = inv.with_idempotency_key("canary-key")
    seen += [client.send(keyed, "async"), client.send(keyed, "async")]
    seen.append(client.job(seen[-1].id))
    seen.append(client.resume(seen[-1].to_token()))
    # refusals and failures as exceptions; faults surface when there is no retry to recover
    no_retry = rutter_nb.Client(
        sb.base_url,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        access_token=TOKEN,
        retry=RetryPolicy(max_retries=0),
    )
    attempts: list[Callable[[], Any]] = [
        lambda: client.send(  # 409: same key, different body
            rutter_nb.request("POST", "/accounting/items", body={"item": {"name": "x"}}),
            "async",
            idempotency_key="canary-key",
        ),
        lambda: client.send(
            rutter_nb.request("POST", "/accounting/customers", body={"customer": {}})
        ),
        lambda: no_retry.send(inv.with_headers(X_Sandbox_Fault="error_after_accept"), "async"),
        lambda: no_retry.send(inv.with_headers(X_Sandbox_Fault="drop_connection"), "async"),
        lambda: client.job("00000000-0000-4000-8000-000000000000"),
        lambda: rutter_nb.Client(
            sb.base_url, client_id=CLIENT_ID, client_secret=WRONG, access_token=TOKEN
        ).send(inv),
        lambda: rutter_nb.Client(
            sb.base_url, client_id=CLIENT_ID, client_secret=SECRET, access_token=WRONG
        ).send(inv),
    ]
    for attempt in attempts:
        with pytest.raises(errors.RutterError) as info:
            attempt()
        seen.append(info.value)
    with pytest.raises(errors.TransportError) as dead:
        rutter_nb.Client(
            "http://127.0.0.1:9/versioned",
            client_id=CLIENT_ID,
            client_secret=SECRET,
            access_token=TOKEN,
            max_retries=0,
        ).send(inv)
    seen.append(dead.value)

    async def async_side() -> list[Any]:
        async with rutter_nb.AsyncClient(
            sb.base_url, client_id=CLIENT_ID, client_secret=SECRET, access_token=TOKEN, poll=POLL
        ) as aclient:
            job = await aclient.send(inv, "async")
            await job.wait_async()
            return [aclient, job]

    seen += asyncio.run(async_side())
    jobs = [o for o in seen if isinstance(o, rutter_nb.Job)]
    from rutter_nb.frames import errors_frame, jobs_frame

    produced = [_text_of(o) for o in seen]
    produced.append(jobs_frame(jobs).to_csv())
    produced.append(errors_frame(jobs).to_csv())
    produced.append(caplog.text)
    produced += [r.getMessage() for r in caplog.records]
    out, err = capfd.readouterr()
    produced += [out, err]
    everything = "\n".join(produced)
    assert "error_after_accept" in everything or "INTERNAL_ERROR" in everything  # it ran
    assert len(jobs) >= 8 and any(isinstance(o, errors.AuthenticationError) for o in seen)
    for secret in FORBIDDEN:
        assert secret not in everything, f"leaked {secret[:10]}..."
    client.close()


def test_httpx_errors_are_not_chained_into_tracebacks() -> None:
    """httpx exceptions can quote URLs (with access_token); ours replace them."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    client = rutter_nb.Client(
        "http://127.0.0.1:9/versioned",
        client_id=CLIENT_ID,
        client_secret=SECRET,
        access_token=TOKEN,
        max_retries=0,
        transport=httpx.MockTransport(refuse),
    )
    with pytest.raises(errors.TransportError) as info:
        client.send(rutter_nb.item(name="x"))
    text = "".join(traceback.format_exception(info.value))
    assert TOKEN not in text and "ConnectError" in text
    assert info.value.__cause__ is None and info.value.__suppress_context__
