"""Scenario 7: webhooks under attack: forged, unsigned, tampered, replayed and late deliveries.

While a batch follows its jobs through webhooks, a hostile sender posts bad deliveries for
every job. Each bad one must be refused (401) or ignored (duplicate), no job may move
backwards or take a forged result, and every invoice must still exist exactly once.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from batch_helpers import client_for, customer_id, document_numbers, invoices
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rutter_nb import webhooks
from rutter_nb.jobs import Job
from rutter_nb.sandbox import Sandbox
from rutter_nb.webhooks import Receiver

from .support import Row, record, sized

pytestmark = pytest.mark.reliability

ATTACKER = "attacker-secret"


def _event(job_id: str, status: str, body: object, request: Any = None) -> bytes:
    job = {"id": job_id, "status": status, "request": request or {}}
    if status in ("success", "failure"):
        job["response"] = {"http_status": 200, "body": body}
    return json.dumps({"type": "JOB", "code": "JOB_COMPLETED", "job": job}).encode()


def _post(http: httpx.Client, url: str, body: bytes, signature: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[webhooks.SIGNATURE_HEADER] = signature
    return http.post(url, content=body, headers=headers).status_code


def _flip(signature: str) -> str:
    """The same signature with one base64 character changed."""
    return signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]


class Attacker:
    """Posts bad deliveries for every job of a batch until told to stop; counts replies."""

    def __init__(self, url: str, secret: str, jobs: list[Job]) -> None:
        self.url, self.secret, self.jobs = url, secret, jobs
        self.replies: Counter[tuple[str, int]] = Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self.stop.is_set():
                for job in list(self.jobs):
                    self.attack(http, job)
                time.sleep(0.05)
            for job in list(self.jobs):  # once more after the end: late and replayed
                self.attack(http, job)

    def attack(self, http: httpx.Client, job: Job) -> None:
        forged = _event(job.id, "success", {"invoice": {"id": "forged", "memo": "forged"}})
        real_sig = webhooks.sign(forged, self.secret)
        tampered = forged.replace(b'"forged"', b'"tampered"')
        tries = [
            ("forged signature", forged, webhooks.sign(forged, ATTACKER)),
            ("missing signature", forged, None),
            ("tampered body", tampered, _flip(real_sig)),
            ("signature of another body", tampered, real_sig),
            ("garbage signature", forged, "sha256=" + "=" * 44),
        ]
        if job.done:
            late = _event(job.id, "pending", None)
            tries.append(("late pending, validly signed", late, webhooks.sign(late, self.secret)))
            if job.response is not None:
                replay = json.dumps(
                    {"type": "JOB", "code": "JOB_COMPLETED", "job": job.to_dict()}
                ).encode()
                tries.append(("replayed", replay, webhooks.sign(replay, self.secret)))
        for name, body, signature in tries:
            self.replies[(name, _post(http, self.url, body, signature))] += 1


def test_hostile_deliveries_during_a_webhook_batch_change_nothing(sandbox: Sandbox) -> None:
    n = sized(30, 200)
    sandbox.configure(failure_rate=0.1, job_duration=(0.2, 0.8))
    reqs = invoices(customer_id(sandbox), n, "HOOK7")
    with client_for(sandbox) as client, Receiver(sandbox.client_secret) as receiver:
        batch = client.send_many(reqs, "async", webhooks=receiver)
        attacker = Attacker(receiver.url, sandbox.client_secret, batch.jobs)
        attacker.thread.start()
        try:
            batch.wait(timeout=300)
        finally:
            attacker.stop.set()
            attacker.thread.join(timeout=120)
        truth = {job.id: client.fetch_job(job.id) for job in batch.jobs}

    replies = attacker.replies
    bad = {
        k: v for k, v in replies.items() if k[0] not in ("late pending, validly signed", "replayed")
    }
    refused = sum(v for (name, code), v in bad.items() if code == 401)
    ignored = sum(v for (name, code), v in replies.items() if name not in {k[0] for k in bad})
    # every unsigned, forged or tampered delivery was refused; late and replayed ones ignored
    assert refused == sum(bad.values()) > 0
    assert {code for (name, code) in replies if (name, code) not in bad} == {200}
    assert receiver.rejected == refused
    assert receiver.accepted == n  # one real delivery moved each job forward, once
    assert receiver.duplicates >= ignored
    # no job took a forged result or went backwards: each matches the server's own record
    assert len(batch.jobs) == n and all(job.done for job in batch.jobs)
    for job in batch.jobs:
        assert job.status == truth[job.id].status
        assert "forged" not in json.dumps(job.response) and "tampered" not in json.dumps(
            job.response
        )
    found = document_numbers(sandbox, "HOOK7")
    succeeded = sum(job.succeeded for job in batch.jobs)
    assert sum(found.values()) == len(found) == succeeded  # failed jobs created nothing
    assert sandbox.stats()["webhooks"]["failed"] == 0
    record(
        Row(
            "7 webhooks under attack",
            requests=sum(replies.values()) + receiver.accepted,
            lost=n - len(batch.jobs),
            duplicated=sum(found.values()) - len(found),
            leaked=0,
            server_errors=0,
            notes=f"{refused} forged/unsigned/tampered refused (401), {ignored} late/replayed "
            f"ignored; {n} jobs match the server",
        )
    )


@settings(
    max_examples=sized(60, 400),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    body=st.binary(max_size=300),
    signature=st.one_of(st.none(), st.text(max_size=80), st.binary(max_size=40).map(repr)),
)
def test_arbitrary_signatures_are_refused(body: bytes, signature: str | None) -> None:
    receiver = _shared_receiver()
    before = receiver.stats()
    # what an HTTP header can carry: printable ASCII, no surrounding whitespace
    sig = None if signature is None else "".join(c for c in signature if 0x20 <= ord(c) < 0x7F)
    sig = None if sig is None else sig.strip()
    status = _post(_http(), receiver.url, body, sig)
    assert status == 401
    after = receiver.stats()
    assert after["rejected"] == before["rejected"] + 1 and after["accepted"] == before["accepted"]


def test_a_validly_signed_but_absurdly_nested_delivery_is_a_400() -> None:
    receiver = _shared_receiver()
    body = b'{"type": "JOB", "job": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    assert _post(_http(), receiver.url, body, webhooks.sign(body, "shared-secret")) == 400


_STATE: dict[str, Any] = {}


def _shared_receiver() -> Receiver:
    if "receiver" not in _STATE:
        _STATE["receiver"] = Receiver("shared-secret")
    receiver: Receiver = _STATE["receiver"]
    return receiver


def _http() -> httpx.Client:
    if "http" not in _STATE:
        _STATE["http"] = httpx.Client(timeout=30)
    http: httpx.Client = _STATE["http"]
    return http


@pytest.fixture(autouse=True, scope="module")
def _close_shared() -> Any:
    yield
    if "receiver" in _STATE:
        _STATE.pop("receiver").stop()
    if "http" in _STATE:
        _STATE.pop("http").close()
