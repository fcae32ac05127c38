"""client: Client/AsyncClient behaviour on httpx.MockTransport (unit; edge cases)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable
from email.utils import format_datetime

import httpx
import pytest

import rutter_nb
from rutter_nb import errors
from rutter_nb.polling import PollPolicy
from rutter_nb.retry import RetryPolicy

BASE = "http://127.0.0.1:9/versioned"
SECRET = "canary-client-secret-77"
TOKEN = "canary-client-token-77"
FAST_POLL = PollPolicy(
    initial=0.001,
    factor=1.0,
    max_interval=0.001,
    jitter=0.0,
    timeout=10.0,
    poll_retry=RetryPolicy(max_retries=3, base_delay=0.001),
)
INVOICE = rutter_nb.invoice(
    customer_id="c1", issue_date="2024-05-01", currency_code="USD", line_items=[{"total_amount": 5}]
)
Handler = Callable[[httpx.Request], httpx.Response]
JOB_OK = {
    "id": "j1",
    "status": "success",
    "request": {"method": "POST", "url": f"{BASE}/accounting/invoices?access_token={TOKEN}"},
    "response": {"http_status": 200, "body": {"invoice": {"id": "i1"}}},
}
ACCEPTED = {"async_response": {"id": "j1", "response_url": f"{BASE}/jobs/j1", "status": "pending"}}


class Recorder:
    """A MockTransport handler that answers from a script and records every request."""

    def __init__(self, *replies: httpx.Response | Exception | Handler) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply) and not isinstance(reply, httpx.Response):
            return reply(request)
        return reply


def _client(rec: Recorder, sleeps: list[float] | None = None, **kw: object) -> rutter_nb.Client:
    log = sleeps if sleeps is not None else []
    kw.setdefault("poll", FAST_POLL)
    return rutter_nb.Client(
        BASE,
        client_id="cid",
        client_secret=SECRET,
        access_token=TOKEN,
        transport=httpx.MockTransport(rec),
        sleep=log.append,
        **kw,  # type: ignore[arg-type]
    )


def _ok(body: object, **headers: str) -> httpx.Response:
    return httpx.Response(200, json=body, headers=headers)


def _err(status: int, **headers: str) -> httpx.Response:
    body = {"error_type": "E", "error_code": f"C{status}", "error_message": f"m{status}"}
    return httpx.Response(status, json=body, headers=headers)


def test_sync_reply_becomes_a_finished_job() -> None:
    rec = Recorder(_ok({"invoice": {"id": "i1"}}, **{"X-Rutter-Job-ID": "j-sync"}))
    job = _client(rec).send(INVOICE, "prefer_sync")
    assert (job.id, job.status, job.sync, job.done, job.attempts) == (
        "j-sync",
        "success",
        True,
        True,
        1,
    )
    assert job.result == {"invoice": {"id": "i1"}} and job.http_status == 200
    sent = rec.requests[0]
    assert json.loads(sent.content)["response_mode"] == "prefer_sync"
    assert uuid.UUID(sent.headers["Idempotency-Key"]).version == 4
    assert job.request["idempotency_key"] == sent.headers["Idempotency-Key"]


def test_async_reply_is_pending_then_waits_to_success() -> None:
    pending = dict(JOB_OK, status="pending", response=None)
    rec = Recorder(_ok(ACCEPTED), _ok(pending), _ok(pending), _ok(JOB_OK))
    job = _client(rec).send(INVOICE, "async")
    assert (job.status, job.sync, job.done) == ("pending", False, False)
    job.wait()
    assert job.succeeded and job.polls == 3 and job.result == {"invoice": {"id": "i1"}}
    assert [r.url.path for r in rec.requests[1:]] == ["/versioned/jobs/j1"] * 3
    assert "access_token" not in rec.requests[1].url.params
    assert TOKEN not in json.dumps(job.to_dict())


def test_write_retried_on_500_with_the_same_key() -> None:
    rec = Recorder(_err(500), _err(503), _ok(ACCEPTED, **{"Idempotent-Replayed": "true"}))
    sleeps: list[float] = []
    job = _client(rec, sleeps).send(INVOICE, "async")
    keys = {r.headers["Idempotency-Key"] for r in rec.requests}
    assert len(rec.requests) == 3 and len(keys) == 1
    assert job.attempts == 3 and job.replayed
    assert len(sleeps) == 2


def test_given_key_is_used_on_every_attempt() -> None:
    rec = Recorder(_err(502), _ok(ACCEPTED))
    _client(rec).send(INVOICE, "async", idempotency_key="my-key")
    assert [r.headers["Idempotency-Key"] for r in rec.requests] == ["my-key", "my-key"]


def test_write_without_key_is_not_retried_after_an_unknown_outcome() -> None:
    rec = Recorder(_err(500), _ok(ACCEPTED))
    client = _client(rec, auto_idempotency=False)
    with pytest.raises(errors.ServerError) as info:
        client.send(INVOICE, "async")
    assert len(rec.requests) == 1 and "Idempotency-Key" not in rec.requests[0].headers
    assert info.value.http_status == 500 and info.value.request is not None
    rec2 = Recorder(httpx.ReadError("dropped"), _ok(ACCEPTED))
    with pytest.raises(errors.TransportError):
        _client(rec2, auto_idempotency=False).send(INVOICE, "async")
    assert len(rec2.requests) == 1


def test_429_and_connect_errors_are_retried_even_without_key() -> None:
    rec = Recorder(_err(429, **{"Retry-After": "2"}), httpx.ConnectError("refused"), _ok(ACCEPTED))
    sleeps: list[float] = []
    job = _client(rec, sleeps, auto_idempotency=False).send(INVOICE, "async")
    assert job.attempts == 3 and sleeps[0] == 2.0


def test_http_date_retry_after_is_honoured_and_capped() -> None:
    soon = format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
    late = format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=3), usegmt=True)
    rec = Recorder(
        _err(429, **{"Retry-After": soon}), _err(503, **{"Retry-After": late}), _ok(ACCEPTED)
    )
    sleeps: list[float] = []
    _client(rec, sleeps, retry=RetryPolicy(max_retry_after=60)).send(INVOICE, "async")
    assert 20 <= sleeps[0] <= 31 and sleeps[1] == 60


def test_retries_give_up_with_the_typed_error() -> None:
    rec = Recorder(_err(429, **{"Retry-After": "0"}))
    with pytest.raises(errors.RateLimited) as info:
        _client(rec, max_retries=2).send(INVOICE, "async")
    assert len(rec.requests) == 3 and info.value.retry_after == 0.0


def test_refusals_raise_without_retry() -> None:
    for status, cls in [
        (400, errors.ValidationError),
        (401, errors.AuthenticationError),
        (409, errors.IdempotencyConflict),
        (404, errors.NotFound),
    ]:
        rec = Recorder(_err(status))
        with pytest.raises(cls):
            _client(rec).send(INVOICE, "async")
        assert len(rec.requests) == 1


def test_accepted_failure_reply_is_a_failed_job() -> None:
    rec = Recorder(_err(450, **{"X-Rutter-Job-ID": "j-f"}))
    job = _client(rec).send(INVOICE, "prefer_sync")
    assert job.status == "failure" and job.sync and isinstance(job.error, errors.PlatformError)


def test_sync_get_without_job_id_is_a_local_finished_job() -> None:
    rec = Recorder(_ok({"invoices": [], "next_cursor": None}))
    client = _client(rec)
    job = client.send(rutter_nb.request("GET", "/accounting/invoices"))
    assert job.succeeded and job.sync and job.id.startswith("sync-")
    assert "Idempotency-Key" not in rec.requests[0].headers
    assert job.refresh() is job and job.wait() is job and not job.polls
    with pytest.raises(errors.InvalidRequest, match="nothing to resume"):
        client.resume(job.to_token())


def test_poll_failures_use_the_poll_retry_policy() -> None:
    rec = Recorder(_ok(ACCEPTED), _err(500), httpx.ReadTimeout("slow"), _ok(JOB_OK))
    job = _client(rec).send(INVOICE, "async").wait()
    assert job.succeeded and len(rec.requests) == 4 and job.polls == 1


def test_poll_gives_up_after_its_retry_budget() -> None:
    rec = Recorder(_ok(ACCEPTED), _err(503))
    job = _client(rec).send(INVOICE, "async")
    with pytest.raises(errors.ServerError):
        job.wait()
    assert len(rec.requests) == 1 + 4 and job.status == "pending"


def test_unknown_status_stops_polling() -> None:
    rec = Recorder(_ok(ACCEPTED), _ok(dict(JOB_OK, status="teleported")))
    job = _client(rec).send(INVOICE, "async")
    with pytest.raises(errors.UnknownJobStatus, match="teleported"):
        job.wait()
    assert len(rec.requests) == 2 and job.status == "teleported"


def test_malformed_and_incomplete_replies() -> None:
    bad_json = httpx.Response(200, content=b"{oops", headers={"Content-Type": "application/json"})
    with pytest.raises(errors.ResponseFormatError):
        _client(Recorder(bad_json)).send(INVOICE, "async")
    job = _client(Recorder(_ok(ACCEPTED), _ok({"status": "pending"}))).send(INVOICE, "async")
    with pytest.raises(errors.ResponseFormatError, match="without an id"):
        job.wait()


def test_fetch_and_resume() -> None:
    rec = Recorder(_ok(JOB_OK))
    client = _client(rec)
    job = client.job("j1")
    assert job.succeeded and job.polls == 1 and job.request["url"].endswith("access_token=***")
    again = client.resume(job.to_token())
    assert again.id == "j1" and again.succeeded
    other = rutter_nb.Client("http://elsewhere/versioned", client_id="c", client_secret=SECRET)
    with pytest.raises(errors.ConfigurationError, match="lives at"):
        other.resume(job.to_token())


def test_bad_arguments_are_typed_errors() -> None:
    client = _client(Recorder(_ok(ACCEPTED)))
    with pytest.raises(errors.InvalidRequest, match="ApiRequest"):
        client.send({"invoice": {}})  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidRequest, match="no 'sync' mode"):
        client.send(INVOICE, "sync")
    with pytest.raises(errors.InvalidRequest):
        client.job("../etc")
    client.close()
    with pytest.raises(errors.ConfigurationError, match="closed"):
        client.send(INVOICE)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUTTER_BASE_URL", BASE)
    monkeypatch.setenv("RUTTER_CLIENT_ID", "env-id")
    monkeypatch.setenv("RUTTER_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("RUTTER_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("RUTTER_VERSION", "2024-04-30")
    rec = Recorder(_ok(ACCEPTED))
    with rutter_nb.Client(transport=httpx.MockTransport(rec)) as client:
        client.send(rutter_nb.request("POST", "/accounting/items", body={"item": {"name": "x"}}))
    assert rutter_nb.item(name="x").version == "2024-04-30"  # builders follow RUTTER_VERSION
    assert rec.requests[0].headers["X-Rutter-Version"] == "2024-04-30"
    assert rec.requests[0].url.params["access_token"] == TOKEN
    assert str(rec.requests[0].url).startswith(BASE)
    assert rutter_nb.Client(env="sandbox").base_url == "https://sandbox.rutterapi.com/versioned"


def test_repr_and_logs_hide_secrets(caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder(_err(500), _ok(ACCEPTED), _ok(JOB_OK))
    client = _client(rec)
    with caplog.at_level(logging.DEBUG, logger="rutter_nb"):
        job = client.send(INVOICE, "async").wait()
    assert "retry" in caplog.text
    text = caplog.text + repr(client) + repr(job) + job.to_token() + json.dumps(job.to_dict())
    assert SECRET not in text and TOKEN not in text


def test_async_client_send_wait_async_and_sync_wait() -> None:
    pending = dict(JOB_OK, status="pending", response=None)
    rec = Recorder(_err(500), _ok(ACCEPTED), _ok(pending), _ok(JOB_OK), _ok(ACCEPTED), _ok(JOB_OK))
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def main() -> tuple[rutter_nb.Job, rutter_nb.Job]:
        async with rutter_nb.AsyncClient(
            BASE,
            client_id="cid",
            client_secret=SECRET,
            access_token=TOKEN,
            transport=httpx.MockTransport(rec),
            poll=FAST_POLL,
            sleep=fake_sleep,
        ) as client:
            first = await client.send(INVOICE, "async")
            await first.wait_async()
            second = await client.send(INVOICE, "async")
            second.wait()  # blocking wait of an async client's job: private sync client
            return first, second

    first, second = asyncio.run(main())
    assert first.succeeded and first.attempts == 2 and len(sleeps) == 1
    assert second.succeeded and second.polls == 1
    assert len(rec.requests) == 6


def test_poll_honours_retry_after_seconds_and_http_date(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("rutter_nb.jobs.time.sleep", slept.append)
    pending = dict(JOB_OK, status="pending", response=None)
    later = format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=40), usegmt=True)
    rec = Recorder(
        _ok(ACCEPTED),
        _ok(pending, **{"Retry-After": "3"}),
        _ok(pending, **{"Retry-After": later}),
        _ok(pending),
        _ok(JOB_OK),
    )
    poll = PollPolicy(initial=0.5, factor=1.0, jitter=0.0, max_retry_after=30.0, timeout=None)
    job = _client(rec, poll=poll).send(INVOICE, "async").wait()
    assert job.succeeded and job.polls == 4
    assert slept == [3.0, 30.0, 0.5]  # Retry-After wins (capped), else the schedule
