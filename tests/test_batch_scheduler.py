"""rutter_nb.batch_scheduler: the pure parts (poll timing, never-backwards) and the throttle."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from rutter_nb.batch_scheduler import AdaptiveDelay, ThrottledTransport, job_state
from rutter_nb.errors import ResponseFormatError
from rutter_nb.jobs import Job
from rutter_nb.protocol import JobState
from rutter_nb.ratelimit import TokenBucket


def _state(status: str, body: object = None) -> JobState:
    response = None if body is None else {"http_status": 200, "body": body}
    return JobState("job-1", status, None, response, None, None)


# -- Job.apply, as the scheduler uses it: a job never moves backwards ------------------


def test_apply_moves_forward() -> None:
    job = Job("job-1", "prequeued")
    assert job.apply(_state("pending")) is True
    assert job.apply(_state("success", {"invoice": {"id": "i"}})) is True
    assert job.status == "success"
    assert job.result == {"invoice": {"id": "i"}}


def test_late_pending_after_success_is_ignored() -> None:
    job = Job("job-1", "pending")
    job.apply(_state("success", {"invoice": {"id": "i"}}))
    assert job.apply(_state("pending")) is False
    assert job.apply(_state("prequeued")) is False
    assert job.status == "success"


def test_a_second_terminal_state_does_not_replace_the_first() -> None:
    job = Job("job-1", "pending")
    job.apply(_state("success", {"invoice": {"id": "first"}}))
    assert job.apply(_state("failure", {"error_code": "X"})) is False
    assert job.result == {"invoice": {"id": "first"}}


# -- AdaptiveDelay ------------------------------------------------------------------------


def test_first_poll_delay_settles_near_the_chosen_quantile() -> None:
    """Simulated jobs of uniform 0.5..2 s: the delay should end near the 95th percentile."""
    rng = random.Random(7)
    delay = AdaptiveDelay(1.0, quantile=0.95)
    early = 0
    for n in range(4000):
        duration = rng.uniform(0.5, 2.0)
        done = duration <= delay.value
        if n >= 2000:
            early += not done
        delay.observe(delay.value, done)
    assert 1.7 <= delay.value <= 2.1
    assert 0.02 <= early / 2000 <= 0.10  # about 1 - q of first polls come too early


def test_a_late_first_poll_does_not_shorten_the_delay() -> None:
    delay = AdaptiveDelay(1.0)
    delay.observe(5.0, done=True)  # polled late because of the rate limit: no information
    assert delay.value == 1.0
    delay.observe(3.0, done=False)  # still running at 3 s: wait at least that long next time
    assert delay.value > 3.0


def test_delay_stays_within_bounds() -> None:
    delay = AdaptiveDelay(1.0, low=0.1, high=2.0)
    for _ in range(200):
        delay.observe(10.0, done=False)
    assert delay.value == 2.0
    for _ in range(20000):
        delay.observe(0.0, done=True)
    assert delay.value == pytest.approx(0.1)


def test_follow_up_waits_for_the_learnt_delay_then_backs_off() -> None:
    delay = AdaptiveDelay(2.0)
    # found running early (a burst polled before anything was learnt): wait until ~2.2 s
    assert delay.follow_up(0.5, 1, rand=lambda: 0.5) == pytest.approx(1.7)
    # found running past the learnt delay: back off from a fraction of it, capped at 5 s
    waits = [delay.follow_up(3.0, n, rand=lambda: 0.5) for n in range(1, 12)]
    assert waits == sorted(waits)
    assert waits[0] == pytest.approx(0.6)
    assert waits[-1] == pytest.approx(5.0)


# -- ThrottledTransport ---------------------------------------------------------------------


def test_throttled_transport_counts_requests_and_reports_429s() -> None:
    replies = iter([429, 200, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(replies)
        headers = {"Retry-After": "0"} if status == 429 else {}
        return httpx.Response(status, headers=headers, json={})

    bucket = TokenBucket("1000/1s")
    transport = ThrottledTransport(httpx.MockTransport(handler), bucket)

    async def main() -> list[int]:
        async with httpx.AsyncClient(transport=transport) as http:
            return [(await http.get("http://rutter.test/x")).status_code for _ in range(3)]

    assert asyncio.run(main()) == [429, 200, 200]
    assert transport.requests == 3
    assert transport.throttled == 1
    assert bucket.throttled == 1
    assert bucket.acquired >= 3


# -- webhook job objects ----------------------------------------------------------------------


def test_webhook_job_is_read_like_a_poll_with_secrets_masked() -> None:
    state = job_state(
        {
            "id": "job-1",
            "status": "success",
            "request": {
                "method": "POST",
                "url": "http://x/versioned/accounting/invoices?access_token=tok-very-secret",
                "body": {},
            },
            "response": {"http_status": 200, "body": {"invoice": {"id": "i"}}},
        }
    )
    assert state.status == "success"
    assert state.request is not None
    assert "tok-very-secret" not in state.request["url"]


def test_malformed_webhook_job_is_a_typed_error() -> None:
    with pytest.raises(ResponseFormatError):
        job_state({"id": "job-1", "status": "success", "response": "nope"})
