"""client against the embedded sandbox over real sockets: modes, failures, idempotency,
errors, retries and faults, counting entities through the list endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import rutter_nb
from rutter_nb import errors
from rutter_nb.polling import PollPolicy
from rutter_nb.retry import RetryPolicy
from rutter_nb.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]

POLL = PollPolicy(initial=0.05, factor=1.5, max_interval=0.5, timeout=60.0)
RETRY = RetryPolicy(max_retries=4, base_delay=0.05, max_retry_after=3.0)
MISSING = "00000000-0000-4000-8000-000000000000"


def _client(sb: Sandbox, **kw: Any) -> rutter_nb.Client:
    kw.setdefault("poll", POLL)
    kw.setdefault("retry", RETRY)
    kw.setdefault("client_id", sb.client_id)
    kw.setdefault("client_secret", sb.client_secret)
    kw.setdefault("access_token", sb.access_token)
    return rutter_nb.Client(sb.base_url, **kw)


def _count(client: rutter_nb.Client, plural: str) -> int:
    """How many entities the list endpoint returns, following every page."""
    total, cursor = 0, None
    while True:
        query: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        page = client.send(rutter_nb.request("GET", f"/accounting/{plural}", query=query)).result
        total += len(page[plural])
        cursor = page["next_cursor"]
        if not cursor:
            return total


def _customer_id(client: rutter_nb.Client) -> str:
    page = client.send(rutter_nb.request("GET", "/accounting/customers")).result
    return str(page["customers"][0]["id"])


def _invoice(customer_id: str, **kw: Any) -> rutter_nb.ApiRequest:
    return rutter_nb.invoice(
        customer_id=customer_id,
        issue_date="2024-05-01",
        currency_code="USD",
        line_items=[{"total_amount": 120.5, "description": "consulting"}],
        **kw,
    )


class FirstAttemptFault(httpx.HTTPTransport):
    """Real HTTP, but the first attempt of each Idempotency-Key asks the sandbox for a fault,
    so the retry (same key) is what the sandbox sees next."""

    def __init__(self, fault: str) -> None:
        super().__init__()
        self.fault = fault
        self.seen: set[str] = set()
        self.posts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.posts += request.method == "POST"
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST" and key not in self.seen:
            self.seen.add(key or "")
            request.headers["X-Sandbox-Fault"] = self.fault
        return super().handle_request(request)


def test_every_response_mode(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        customer = _customer_id(client)
        before = _count(client, "invoices")
        default = client.send(_invoice(customer))
        prefer = client.send(_invoice(customer), "prefer_sync")
        later = client.send(_invoice(customer), "async")
        assert default.sync and default.succeeded and default.response_mode is None
        assert prefer.sync and prefer.succeeded and prefer.response_mode == "prefer_sync"
        assert not later.sync and later.status in ("prequeued", "pending")
        assert later.wait().succeeded and later.polls >= 1
        for job in (default, prefer, later):
            invoice = job.result["invoice"]
            assert invoice["customer_id"] == customer and invoice["total_amount"] == 120.5
            assert job.http_status == 200 and job.duration is not None
            assert job.request["body"]["invoice"]["customer_id"] == customer
        assert _count(client, "invoices") == before + 3
        # a synchronous reply still names a server job that can be read back
        assert client.job(prefer.id).result == prefer.result


def test_prefer_sync_falls_back_to_async(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(sync_window=0.3, job_duration=(0.05, 0.1))
    with _client(sb) as client:
        slow = _invoice(_customer_id(client)).with_headers(X_Sandbox_Job_Duration="1.0")
        job = client.send(slow, "prefer_sync")
        assert not job.sync and job.status in ("prequeued", "pending")
        assert job.wait(timeout=30).succeeded


def test_failed_jobs_carry_typed_errors(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        bad = _invoice(MISSING)
        polled = client.send(bad, "async").wait()
        direct = client.send(bad, "prefer_sync")
        for job in (polled, direct):
            assert job.done and job.status == "failure" and not job.succeeded
            assert isinstance(job.error, errors.PlatformError)
            assert job.error.error_code == "INVALID_REFERENCE" and job.http_status == 450
            assert job.result is None
        assert direct.sync and not polled.sync


def test_failure_rate_sandbox_fails_every_job(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(failure_rate=1.0, job_duration=(0.05, 0.1))
    with _client(sb) as client:
        job = client.send(rutter_nb.customer(customer_name="Ada"), "async").wait()
        assert job.status == "failure" and isinstance(job.error, errors.PlatformError)
        with pytest.raises(errors.PlatformError):
            job.raise_for_error()


def test_idempotent_replay_returns_the_same_job(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        req = _invoice(_customer_id(client)).with_idempotency_key()
        before = _count(client, "invoices")
        first = client.send(req, "async")
        again = client.send(req, "async")
        assert again.id == first.id and again.replayed and not first.replayed
        assert first.wait().succeeded and again.wait().result == first.result
        assert _count(client, "invoices") == before + 1


def test_same_key_different_body_is_409(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        customer = _customer_id(client)
        client.send(_invoice(customer, idempotency_key="key-409"), "async")
        with pytest.raises(errors.IdempotencyConflict) as info:
            client.send(_invoice(customer, idempotency_key="key-409", memo="changed"), "async")
        assert info.value.http_status == 409 and info.value.error_code
        assert info.value.request is not None and info.value.request.idempotency_key == "key-409"


def test_bad_credentials_are_401(sandbox: Sandbox) -> None:
    with rutter_nb.Client(
        sandbox.base_url,
        client_id=sandbox.client_id,
        client_secret="wrong-secret-123",
        access_token=sandbox.access_token,
    ) as client:
        with pytest.raises(errors.AuthenticationError) as info:
            client.send(rutter_nb.customer(customer_name="Ada"))
        assert info.value.http_status == 401 and "wrong-secret-123" not in str(info.value)
    with (
        _client(sandbox, access_token="not-a-token-123") as client,
        pytest.raises(errors.AuthenticationError),
    ):
        client.send(rutter_nb.request("GET", "/accounting/customers"))


def test_validation_error_is_400(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        req = rutter_nb.request("POST", "/accounting/customers", body={"customer": {}})
        with pytest.raises(errors.ValidationError) as info:
            client.send(req)
        assert info.value.http_status == 400 and info.value.error_code == "MISSING_FIELD"


def test_unknown_job_is_not_found(sandbox: Sandbox) -> None:
    with _client(sandbox) as client, pytest.raises(errors.NotFound):
        client.job(MISSING)


def test_429_is_retried_until_it_passes(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(rate_limit="3/1", job_duration=(0.05, 0.1))
    with _client(sb, retry=RetryPolicy(max_retries=6, max_retry_after=3.0)) as client:
        jobs = [client.send(rutter_nb.vendor(vendor_name=f"V{i}"), "async") for i in range(6)]
        assert max(job.attempts for job in jobs) > 1  # some were refused with 429 first
        assert len({job.id for job in jobs}) == 6
        assert all(job.wait().succeeded for job in jobs)
    assert sb.stats()  # the sandbox is still healthy


def test_429_without_retries_raises_rate_limited(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(rate_limit="2/10")
    with _client(sb, retry=RetryPolicy(max_retries=0)) as client:
        with pytest.raises(errors.RateLimited) as info:
            for i in range(5):
                client.send(rutter_nb.vendor(vendor_name=f"V{i}"), "async")
        assert info.value.retry_after is not None and info.value.retry_after >= 1


@pytest.mark.parametrize("fault", ["error_after_accept", "drop_connection"])
def test_fault_after_accept_is_retried_without_duplicate(sandbox: Sandbox, fault: str) -> None:
    transport = FirstAttemptFault(fault)
    with _client(sandbox) as counter, _client(sandbox, transport=transport) as client:
        customer = _customer_id(counter)
        before = _count(counter, "invoices")
        job = client.send(_invoice(customer), "async")
        assert job.attempts == 2 and job.replayed
        assert job.wait().succeeded
        assert _count(counter, "invoices") == before + 1


def test_fault_without_key_is_not_retried(sandbox: Sandbox) -> None:
    transport = FirstAttemptFault("error_after_accept")
    with (
        _client(sandbox) as counter,
        _client(sandbox, transport=transport, auto_idempotency=False) as client,
    ):
        before = _count(counter, "vendors")
        with pytest.raises(errors.ServerError):
            client.send(rutter_nb.vendor(vendor_name="Once"), "async")
        # the write was accepted before the 500, so exactly one may appear; never two
        counter.send(rutter_nb.request("GET", "/accounting/vendors"))
        assert _count(counter, "vendors") <= before + 1


def test_version_2023_round_trip(sandbox: Sandbox) -> None:
    with _client(sandbox, version="2023-03-14") as client:
        account = client.send(rutter_nb.request("GET", "/accounting/accounts")).result["accounts"][
            0
        ]
        items = client.send(rutter_nb.request("GET", "/accounting/items")).result["items"]
        req = rutter_nb.invoice(
            customer_id=_customer_id(client),
            issue_date="2024-05-01",
            due_date="2024-06-01",
            account_id=account["id"],
            currency_code="USD",
            line_items=[{"total_amount": "12.50", "item": {"id": items[0]["id"], "quantity": 1}}],
            version="2023-03-14",
        )
        job = client.send(req, "async").wait()
        assert job.succeeded, job.error
        assert job.result["invoice"]["total_amount"] in ("12.5", "12.50")  # strings in 2023


def test_resume_from_a_token_in_a_new_client(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        job = client.send(
            rutter_nb.customer(customer_name="Later").with_headers(X_Sandbox_Job_Duration="0.3"),
            "async",
        )
        token = job.to_token()
    assert sandbox.client_secret not in token and sandbox.access_token not in token
    with _client(sandbox) as fresh:
        again = fresh.resume(token)
        assert again.id == job.id and again.wait().succeeded
        assert again.entity == "customer" and again.submitted_at == job.submitted_at


def test_async_client_over_sockets(sandbox: Sandbox) -> None:
    async def main() -> list[rutter_nb.Job]:
        async with rutter_nb.AsyncClient(
            sandbox.base_url,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
            access_token=sandbox.access_token,
            poll=POLL,
        ) as client:
            jobs = await asyncio.gather(
                *(client.send(rutter_nb.item(name=f"I{i}"), "async") for i in range(3))
            )
            await asyncio.gather(*(job.wait_async() for job in jobs[:2]))
            await asyncio.to_thread(jobs[2].wait)  # blocking wait on an async client's job
            fetched = await client.job(jobs[0].id)
            return [*jobs, fetched]

    jobs = asyncio.run(main())
    assert all(job.succeeded for job in jobs)
    assert jobs[3].result == jobs[0].result


def test_to_dict_is_json_and_holds_the_job(sandbox: Sandbox) -> None:
    with _client(sandbox) as client:
        job = client.send(rutter_nb.item(name="Cup"), "async").wait()
    d = json.loads(json.dumps(job.to_dict()))
    assert d["id"] == job.id and d["status"] == "success"
    assert d["request"]["method"] == "POST" and d["request"]["url"].endswith("access_token=***")
    assert d["response"]["http_status"] == 200 and d["client"]["polls"] == job.polls


def test_to_dict_matches_rutters_asynchronous_job_schema(sandbox: Sandbox) -> None:
    import jsonschema

    path = Path(__file__).parent / "sandbox" / "data" / "rutter-2023-03-14-schemas.json"
    schema = json.loads(path.read_text())["components"]["schemas"]["AsynchronousJob"]
    with _client(sandbox) as client:
        jobs = [
            client.send(rutter_nb.item(name="Cup"), "async").wait(),
            client.send(rutter_nb.item(name="Mug"), "prefer_sync"),
            client.send(_invoice(MISSING), "async", idempotency_key="schema-key").wait(),
        ]
    for job in jobs:
        d = job.to_dict()
        d.pop("client")
        jsonschema.validate(d, schema)
        broken = {**d, "request": {**d["request"], "idempotency_key": None}}
        with pytest.raises(jsonschema.ValidationError):  # the schema does bite
            jsonschema.validate(broken, schema)
