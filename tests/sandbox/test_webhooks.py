"""Webhooks: signed JOB_COMPLETED deliveries to a real receiver, retried with backoff."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rutter_nb.sandbox import Sandbox, sign
from rutter_nb.sandbox.webhooks import payload

from .helpers import client, invoice_body, wait_job

INVOICES = "/accounting/invoices"
QUICK = (0.05, 0.2)


class Receiver:
    """A real HTTP server recording raw webhook bodies; fails the first `fail_first` calls."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.arrived:
                    receiver.calls.append((dict(self.headers), raw))
                    failing = len(receiver.calls) <= receiver.fail_first
                    receiver.arrived.notify_all()
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[tuple[dict[str, str], bytes]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.calls) >= count, timeout)
            return list(self.calls)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def verify(secret: str, headers: dict[str, str], raw: bytes) -> bool:
    """What a receiver does: HMAC over the exact raw bytes, compared in constant time."""
    expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(headers["X-Rutter-Signature"], "sha256=" + expected)


def test_sign_is_base64_hmac_sha256_of_the_raw_body() -> None:
    # RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?")
    digest = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    expected = "sha256=" + base64.b64encode(bytes.fromhex(digest)).decode()
    assert sign("Jefe", b"what do ya want for nothing?") == expected


def test_payload_is_the_documented_event() -> None:
    event = json.loads(payload({"id": "j", "status": "success"}))
    assert event == {
        "type": "JOB",
        "code": "JOB_COMPLETED",
        "job": {"id": "j", "status": "success"},
    }


def test_every_completion_is_delivered_signed(sandbox_factory: Any, receiver: Receiver) -> None:
    sb = sandbox_factory(job_duration=QUICK, webhook_urls=[receiver.url])
    with client(sb) as http:
        ok = http.post(INVOICES, json=invoice_body(http, mode="async")).json()["async_response"]
        bad_body = invoice_body(http, mode="async")
        bad_body["invoice"]["customer_id"] = "00000000-0000-4000-8000-000000000000"
        bad = http.post(INVOICES, json=bad_body).json()["async_response"]
        jobs = {j["id"]: j for j in (wait_job(http, ok["id"]), wait_job(http, bad["id"]))}
    calls = receiver.wait_for(2)
    events = {}
    for headers, raw in calls:
        assert verify(sb.client_secret, headers, raw)
        assert not verify("another-secret", headers, raw)
        event = json.loads(raw)
        assert (event["type"], event["code"]) == ("JOB", "JOB_COMPLETED")
        events[event["job"]["id"]] = event["job"]
    assert events == jobs  # the AsynchronousJob object, for success and failure alike
    assert {j["status"] for j in events.values()} == {"success", "failure"}
    assert sb.stats()["webhooks"]["delivered"] == 2


def test_failed_deliveries_are_retried_with_backoff(sandbox_factory: Any) -> None:
    receiver = Receiver(fail_first=2)
    try:
        sb = sandbox_factory(job_duration=QUICK, webhook_urls=[receiver.url], webhook_backoff=0.2)
        with client(sb) as http:
            http.post(INVOICES, json=invoice_body(http))
        calls = receiver.wait_for(3)
        assert len({raw for _, raw in calls}) == 1  # the same payload each time
        deadline = time.monotonic() + 30
        while sb.stats()["webhooks"]["delivered"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = sb.stats()["webhooks"]
        assert (stats["attempts"], stats["retries"], stats["delivered"]) == (3, 2, 1)
    finally:
        receiver.close()


def test_delivery_gives_up_after_six_retries(sandbox_factory: Any) -> None:
    receiver = Receiver(fail_first=1000)
    try:
        sb = sandbox_factory(job_duration=QUICK, webhook_urls=[receiver.url], webhook_backoff=0.01)
        with client(sb) as http:
            http.post(INVOICES, json=invoice_body(http))
        receiver.wait_for(7)
        deadline = time.monotonic() + 30
        while sb.stats()["webhooks"]["failed"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # an eighth attempt (after 0.64 s more backoff) would arrive by now
        assert len(receiver.calls) == 7
        assert sb.stats()["webhooks"]["failed"] == 1
    finally:
        receiver.close()


def test_webhook_urls_can_be_set_at_runtime(sandbox: Sandbox, receiver: Receiver) -> None:
    with client(sandbox) as http:
        http.post(INVOICES, json=invoice_body(http))
        sandbox.configure(webhook_urls=[receiver.url])
        reply = http.post(INVOICES, json=invoice_body(http))
    (_headers, raw), *_ = receiver.wait_for(1)
    assert json.loads(raw)["job"]["id"] == reply.headers["X-Rutter-Job-ID"]
    time.sleep(0.2)
    assert len(receiver.calls) == 1  # the job finished before the URL was set sends nothing
