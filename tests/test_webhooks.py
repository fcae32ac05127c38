"""rutter_nb.webhooks: signature checks and the local receiver, over real sockets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from typing import Any

import httpx
import pytest

from rutter_nb import webhooks
from rutter_nb.webhooks import Receiver, WebhookError, sign, verify

SECRET = "whsec-test-secret-value"


def _event(job_id: str, status: str) -> bytes:
    job = {
        "id": job_id,
        "status": status,
        "request": {"method": "POST", "url": "http://x/versioned/accounting/invoices", "body": {}},
    }
    if status in ("success", "failure"):
        job["response"] = {"http_status": 200, "body": {"invoice": {"id": "inv-1"}}}
    return json.dumps({"type": "JOB", "code": "JOB_COMPLETED", "job": job}).encode()


def _post(receiver: Receiver, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[webhooks.SIGNATURE_HEADER] = signature
    return httpx.post(receiver.url, content=body, headers=headers, timeout=10)


# -- verify -----------------------------------------------------------------------------


def test_verify_accepts_rutter_signature_computed_independently() -> None:
    body = b'{"type":"JOB","code":"JOB_COMPLETED","job":{"id":"a"}}'
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    signature = "sha256=" + base64.b64encode(digest).decode()
    assert verify(body, signature, SECRET) is True


def test_verify_rejects_other_secret_changed_body_and_missing_signature() -> None:
    body = b'{"a": 1}'
    good = sign(body, SECRET)
    assert verify(body, sign(body, "another-secret"), SECRET) is False
    assert verify(body + b" ", good, SECRET) is False
    assert verify(body, None, SECRET) is False
    assert verify(body, "", SECRET) is False
    assert verify(body, good.removeprefix("sha256="), SECRET) is False
    assert verify(body, "sha256=ünïcode", SECRET) is False


def test_verify_uses_constant_time_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhooks.hmac, "compare_digest", spy)
    assert verify(b"x", sign(b"x", SECRET), SECRET)
    assert len(calls) == 1


def test_verify_refuses_text_body_and_empty_secret_with_typed_error() -> None:
    with pytest.raises(WebhookError, match="raw request bytes"):
        verify('{"a": 1}', "sha256=x", SECRET)  # type: ignore[arg-type]
    with pytest.raises(WebhookError, match="non-empty"):
        verify(b"{}", "sha256=x", "")


# -- Receiver ---------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Any:
    with Receiver(SECRET) as r:
        yield r


def test_receiver_listens_on_loopback_free_port(receiver: Receiver) -> None:
    assert receiver.url.startswith("http://127.0.0.1:")
    assert not receiver.url.startswith("http://127.0.0.1:0/")


def test_signed_delivery_reaches_subscriber(receiver: Receiver) -> None:
    seen: list[dict[str, Any]] = []
    receiver.on_job(seen.append)
    body = _event("job-1", "success")
    response = _post(receiver, body, sign(body, SECRET))
    assert response.status_code == 200
    assert [(j["id"], j["status"]) for j in seen] == [("job-1", "success")]
    assert receiver.get("job-1") == json.loads(body)["job"]
    assert receiver.stats() == {"received": 1, "accepted": 1, "duplicates": 0, "rejected": 0}


def test_forged_and_missing_signatures_are_rejected(receiver: Receiver) -> None:
    seen: list[dict[str, Any]] = []
    receiver.on_job(seen.append)
    body = _event("job-1", "success")
    forged = _post(receiver, body, sign(body, "attacker-secret"))
    missing = _post(receiver, body, None)
    tampered = _post(receiver, _event("job-1", "failure"), sign(body, SECRET))
    assert (forged.status_code, missing.status_code, tampered.status_code) == (401, 401, 401)
    assert seen == []
    assert receiver.get("job-1") is None
    assert receiver.rejected == 3


def test_duplicate_delivery_is_acknowledged_but_passed_on_once(receiver: Receiver) -> None:
    seen: list[str] = []
    receiver.on_job(lambda job: seen.append(job["status"]))
    body = _event("job-1", "success")
    codes = [_post(receiver, body, sign(body, SECRET)).status_code for _ in range(3)]
    assert codes == [200, 200, 200]  # acknowledged, so Rutter stops redelivering
    assert seen == ["success"]
    assert receiver.duplicates == 2


def test_late_pending_after_success_never_moves_job_backwards(receiver: Receiver) -> None:
    seen: list[str] = []
    receiver.on_job(lambda job: seen.append(job["status"]))
    for status in ("pending", "success", "pending", "prequeued"):
        body = _event("job-1", status)
        assert _post(receiver, body, sign(body, SECRET)).status_code == 200
    assert seen == ["pending", "success"]
    assert receiver.get("job-1")["status"] == "success"  # type: ignore[index]


def test_signed_garbage_is_rejected_as_bad_request(receiver: Receiver) -> None:
    for body in (b"not json", b'{"type": "JOB"}', b'{"type": "JOB", "job": {"id": 1}}'):
        assert _post(receiver, body, sign(body, SECRET)).status_code == 400
    assert receiver.rejected == 3


def test_wrong_path_and_method_are_refused(receiver: Receiver) -> None:
    body = _event("job-1", "success")
    wrong_path = httpx.post(
        receiver.url + "-other",
        content=body,
        headers={webhooks.SIGNATURE_HEADER: sign(body, SECRET)},
    )
    assert wrong_path.status_code == 404
    assert httpx.get(receiver.url).status_code == 405
    assert receiver.get("job-1") is None


def test_failing_subscriber_does_not_break_delivery(receiver: Receiver) -> None:
    seen: list[str] = []

    def broken(job: dict[str, Any]) -> None:
        raise RuntimeError("subscriber bug")

    receiver.on_job(broken)
    receiver.on_job(lambda job: seen.append(job["id"]))
    body = _event("job-9", "failure")
    assert _post(receiver, body, sign(body, SECRET)).status_code == 200
    assert seen == ["job-9"]


def test_unsubscribe_stops_callbacks(receiver: Receiver) -> None:
    seen: list[str] = []
    unsubscribe = receiver.on_job(lambda job: seen.append(job["id"]))
    unsubscribe()
    body = _event("job-2", "success")
    _post(receiver, body, sign(body, SECRET))
    assert seen == []


def test_concurrent_duplicates_are_delivered_exactly_once(receiver: Receiver) -> None:
    seen: list[str] = []
    receiver.on_job(lambda job: seen.append(job["id"]))
    bodies = [_event(f"job-{i % 20}", "success") for i in range(100)]
    with httpx.Client(timeout=10) as http:

        def post_all(chunk: list[bytes]) -> None:
            for body in chunk:
                sent = http.post(
                    receiver.url,
                    content=body,
                    headers={webhooks.SIGNATURE_HEADER: sign(body, SECRET)},
                )
                assert sent.status_code == 200

        threads = [threading.Thread(target=post_all, args=(bodies[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(seen) == sorted({f"job-{i}" for i in range(20)})
    assert receiver.duplicates == 80


def test_secret_never_appears_in_repr_or_error(receiver: Receiver) -> None:
    assert SECRET not in repr(receiver)
    assert SECRET not in str(receiver.__dict__.get("_server"))
    with pytest.raises(WebhookError) as info:
        Receiver(SECRET, path="no-slash")
    assert SECRET not in str(info.value)


def test_stop_releases_port_and_is_idempotent() -> None:
    r = Receiver(SECRET)
    url = r.url
    r.stop()
    r.stop()
    with pytest.raises(httpx.TransportError):
        httpx.post(url, content=b"{}", timeout=2)


def test_a_port_in_use_is_a_typed_error(receiver: Receiver) -> None:
    port = int(receiver.url.split(":")[2].split("/")[0])
    with pytest.raises(WebhookError, match="cannot listen"):
        Receiver(SECRET, port=port)


def test_other_signed_events_are_acknowledged_but_not_passed_on(receiver: Receiver) -> None:
    seen: list[dict[str, Any]] = []
    receiver.on_job(seen.append)
    body = json.dumps({"type": "CONNECTION", "code": "INITIAL_UPDATE", "id": "c"}).encode()
    assert _post(receiver, body, sign(body, SECRET)).status_code == 200
    assert seen == [] and receiver.accepted == 0 and receiver.rejected == 0
