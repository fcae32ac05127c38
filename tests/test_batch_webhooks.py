"""Batches with webhooks against the sandbox: deliveries replace polls; forged, missing and
duplicated deliveries change nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
from batch_helpers import api_requests, client_for, customer_id, document_numbers, invoices

from rutter_nb import webhooks
from rutter_nb.jobs import Job
from rutter_nb.sandbox import Sandbox
from rutter_nb.webhooks import Receiver

SandboxFactory = Callable[..., Sandbox]


def _delivery(job: Job, status: str, body: object) -> bytes:
    payload = {
        "type": "JOB",
        "code": "JOB_COMPLETED",
        "job": {
            "id": job.id,
            "status": status,
            "request": job.request,
            "response": {"http_status": 200, "body": body},
        },
    }
    return json.dumps(payload).encode()


def _post(receiver: Receiver, body: bytes, signature: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[webhooks.SIGNATURE_HEADER] = signature
    return httpx.post(receiver.url, content=body, headers=headers, timeout=10).status_code


def test_webhooks_replace_polling(sandbox: Sandbox) -> None:
    reqs = invoices(customer_id(sandbox), 25, "HOOK")
    before = api_requests(sandbox)
    with client_for(sandbox) as client, Receiver(sandbox.client_secret) as receiver:
        batch = client.send_many(reqs, "async", webhooks=receiver).wait(timeout=120)
        assert receiver.url in client_config(sandbox)["webhook_urls"]
    stats = batch.stats()
    assert all(job.succeeded for job in batch.jobs)
    assert stats["polls"] == 0 and stats["webhooks"] == 25
    assert stats["requests"] == 25 == api_requests(sandbox) - before  # one request per job
    assert receiver.accepted == 25 and receiver.rejected == 0
    assert all(job.result["invoice"]["document_number"].startswith("HOOK-") for job in batch.jobs)
    assert document_numbers(sandbox, "HOOK") == {f"HOOK-{i}": 1 for i in range(25)}


def client_config(sb: Sandbox) -> dict[str, object]:
    with client_for(sb) as client:
        reply = httpx.get(
            sb.url + "/_sandbox/config", headers={"Authorization": client.settings.auth_header}
        )
    data: dict[str, object] = reply.json()
    return data


def test_forged_missing_and_duplicated_deliveries_change_nothing(sandbox: Sandbox) -> None:
    slow = [
        r.with_headers(X_Sandbox_Job_Duration="2.0")
        for r in invoices(customer_id(sandbox), 2, "FORGE")
    ]
    with client_for(sandbox) as client, Receiver(sandbox.client_secret) as receiver:
        batch = client.send_many(slow, "async", webhooks=receiver)
        deadline = time.monotonic() + 30
        while len(batch.jobs) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        running = batch.jobs[0]
        assert running.status in ("prequeued", "pending")
        forged = _delivery(running, "success", {"invoice": {"id": "forged"}})
        # forged (wrong secret) and unsigned deliveries are refused, the job is untouched
        assert _post(receiver, forged, webhooks.sign(forged, "attacker-secret")) == 401
        assert _post(receiver, forged, None) == 401
        assert running.status in ("prequeued", "pending")
        batch.wait(timeout=120)
        real = receiver.get(running.id)
        assert real is not None
        # the real delivery again, and a late `pending`, are duplicates: acknowledged, ignored
        again = json.dumps({"type": "JOB", "code": "JOB_COMPLETED", "job": real}).encode()
        late = _delivery(running, "pending", None)
        assert _post(receiver, again, webhooks.sign(again, sandbox.client_secret)) == 200
        assert _post(receiver, late, webhooks.sign(late, sandbox.client_secret)) == 200
    assert receiver.rejected == 2
    assert receiver.duplicates >= 2
    assert running.status == "success"
    assert running.result["invoice"]["id"] != "forged"
    assert running.result["invoice"]["document_number"].startswith("FORGE-")
    assert batch.stats()["webhooks"] == 2


def test_webhooks_true_makes_a_receiver_and_cleans_it_up(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        batch = client.send_many(invoices(customer_id(sandbox), 5, "OWN"), webhooks=True)
        receiver = batch.receiver
        assert receiver is not None
        url = receiver.url
        assert url in client_config(sandbox)["webhook_urls"]  # type: ignore[operator]
        batch.wait(timeout=120)
    assert batch.stats()["webhooks"] == 5
    assert url not in client_config(sandbox)["webhook_urls"]  # type: ignore[operator]
    try:
        httpx.post(url, content=b"{}", timeout=2)
        reachable = True
    except httpx.TransportError:
        reachable = False
    assert not reachable
