"""jobs: Job state, waiting, notification, thread-safety and tokens (fake job source)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import threading
from typing import Any

import pytest

from rutter_nb.errors import InvalidRequest, JobTimeout, PlatformError, UnknownJobStatus
from rutter_nb.jobs import Job, job_from_token
from rutter_nb.polling import PollPolicy
from rutter_nb.protocol import JobState

FAST = PollPolicy(initial=0.001, factor=1.0, max_interval=0.001, jitter=0.0, timeout=30.0)


class ScriptedSource:
    """A job source that replays a list of statuses (the last one repeats)."""

    base_url = "http://127.0.0.1:9/versioned"

    def __init__(self, statuses: list[str], policy: PollPolicy = FAST, interrupt_at: int = -1):
        self.statuses = statuses
        self.poll_policy = policy
        self.reads = 0
        self.interrupt_at = interrupt_at

    def _state(self, job_id: str) -> JobState:
        self.reads += 1
        if self.reads == self.interrupt_at:
            raise KeyboardInterrupt
        status = self.statuses[min(self.reads - 1, len(self.statuses) - 1)]
        response = None
        if status == "success":
            response = {"http_status": 200, "body": {"invoice": {"id": "i"}}}
        elif status in ("failure", "partial_success"):
            response = {
                "http_status": 450,
                "body": {"error_type": "PLATFORM_ERROR", "error_code": "X", "error_message": "no"},
            }
        return JobState(job_id, status, {"method": "POST"}, response, None, None)

    def fetch_job(self, job_id: str, *, timeout: float | None = None) -> JobState:
        return self._state(job_id)

    async def afetch_job(self, job_id: str, *, timeout: float | None = None) -> JobState:
        return self._state(job_id)


def _job(source: Any = None, status: str = "pending") -> Job:
    return Job("job-1", status, request={"method": "POST", "url": "u"}, source=source)


def test_wait_polls_until_success_and_records_timings() -> None:
    source = ScriptedSource(["pending", "pending", "success"])
    job = _job(source).wait()
    assert job.done and job.succeeded and job.status == "success"
    assert job.polls == 3 == source.reads
    assert job.result == {"invoice": {"id": "i"}} and job.http_status == 200
    assert job.error is None and job.completed_at is not None


def test_failure_is_terminal_with_a_typed_error() -> None:
    job = _job(ScriptedSource(["failure"])).wait()
    assert job.done and not job.succeeded and job.result is None
    assert isinstance(job.error, PlatformError) and job.error.error_code == "X"
    with pytest.raises(PlatformError):
        job.raise_for_error()


def test_partial_success_is_terminal() -> None:
    job = _job(ScriptedSource(["pending", "partial_success"])).wait()
    assert job.done and not job.succeeded and job.polls == 2


def test_unknown_status_stops_instead_of_spinning() -> None:
    source = ScriptedSource(["pending", "exploded"])
    with pytest.raises(UnknownJobStatus) as info:
        _job(source).wait()
    assert info.value.status == "exploded" and source.reads == 2


def test_timeout_raises_and_job_stays_usable() -> None:
    slow = PollPolicy(initial=0.05, factor=1.0, jitter=0.0, timeout=0.2)
    source = ScriptedSource(["pending"] * 1000 + ["success"], policy=slow)
    job = _job(source)
    with pytest.raises(JobTimeout) as info:
        job.wait()
    assert info.value.job is job and job.status == "pending"
    source.statuses = ["success"]
    source.reads = 0
    assert job.wait(timeout=5).succeeded


def test_wait_timeout_argument_is_checked() -> None:
    with pytest.raises(InvalidRequest, match="timeout"):
        _job(ScriptedSource(["success"])).wait(timeout=-1)
    with pytest.raises(InvalidRequest, match="timeout"):
        _job(ScriptedSource(["success"])).wait(timeout="soon")  # type: ignore[arg-type]


def test_interrupt_leaves_the_job_resumable() -> None:
    source = ScriptedSource(["pending", "pending", "success"], interrupt_at=2)
    job = _job(source)
    with pytest.raises(KeyboardInterrupt):
        job.wait()
    assert job.status == "pending" and not job.done
    assert job.wait().succeeded


def test_wait_async() -> None:
    source = ScriptedSource(["prequeued", "pending", "success"])
    job = asyncio.run(_job(source).wait_async())
    assert job.succeeded and job.polls == 3


def test_job_without_source_explains_how_to_resume() -> None:
    with pytest.raises(InvalidRequest, match="resume"):
        _job(None).wait()


def test_on_change_is_called_per_change_and_unsubscribes() -> None:
    job = _job(ScriptedSource(["pending", "success"]))
    seen: list[str] = []
    unsubscribe = job.on_change(lambda j: seen.append(j.status))
    job.on_change(lambda j: 1 / 0)  # a broken callback must not break the job
    job.wait()
    assert seen[-1] == "success" and "success" in seen
    count = len(seen)
    unsubscribe()
    job.apply(JobState("job-1", "failure", None, {"http_status": 500, "body": None}, None, None))
    assert len(seen) == count


def test_apply_refuses_another_jobs_state() -> None:
    with pytest.raises(InvalidRequest):
        _job().apply(JobState("other", "success", None, None, None, None))


def test_concurrent_updates_and_reads_are_consistent() -> None:
    job = _job()
    calls: list[int] = []
    job.on_change(lambda j: calls.append(1))
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        for i in range(200):
            status = "pending" if (i + n) % 2 else "prequeued"
            job.apply(JobState("job-1", status, {"n": n}, None, None, None))

    def reader() -> None:
        try:
            for _ in range(400):
                d = job.to_dict()
                assert d["status"] in ("pending", "prequeued")
                json.dumps(d)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert 0 < len(calls) <= 800


def test_to_dict_shape() -> None:
    job = _job(ScriptedSource(["success"])).wait()
    d = job.to_dict()
    assert set(d) == {"id", "status", "request", "response", "client"}
    assert d["response"]["http_status"] == 200
    assert set(d["client"]) >= {
        "sync",
        "replayed",
        "response_mode",
        "entity",
        "submitted_at",
        "completed_at",
        "duration",
        "polls",
        "attempts",
        "error",
    }


def test_token_round_trip_is_small_versioned_json() -> None:
    job = Job(
        "job-9",
        "pending",
        request={"method": "POST", "url": "u", "idempotency_key": "k"},
        source=ScriptedSource(["pending"]),
        entity="invoice",
    )
    token = job.to_token()
    data = job_from_token(token)
    assert data["id"] == "job-9" and data["rutter_nb_job"] == 1
    assert data["idempotency_key"] == "k" and data["entity"] == "invoice"
    assert len(token) < 400


@pytest.mark.parametrize(
    ("token", "match"),
    [
        ("not json", "invalid JSON"),
        ("[]", "not a rutter_nb job token"),
        ('{"rutter_nb_job": 99, "id": "j"}', "version 99"),
        ('{"rutter_nb_job": 1}', "without a job id"),
    ],
)
def test_bad_tokens(token: str, match: str) -> None:
    with pytest.raises(InvalidRequest, match=match):
        job_from_token(token)


def test_mimebundle_falls_back_to_text_without_widgets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rutter_nb.widgets", None)  # makes the import fail
    bundle = _job()._repr_mimebundle_()
    assert bundle == {"text/plain": repr(_job())}
    assert repr(_job()) == "Job(id='job-1', status='pending', polls=0)"


def test_a_job_rebuilt_from_a_journal_keeps_its_completion_time() -> None:
    submitted = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    completed = submitted + dt.timedelta(seconds=3.5)
    job = Job("job-1", "success", submitted_at=submitted, completed_at=completed)
    assert job.completed_at == completed
    assert job.duration == 3.5


# --- _snapshot: to_dict() without the deep copies, for the frames reader ------------------


def _finished_jobs() -> list[Job]:
    failed = Job(
        "job-f",
        "failure",
        request={"method": "POST", "url": "u", "body": {"invoice": {"memo": "m"}}},
        response={
            "http_status": 450,
            "body": {"error_type": "PLATFORM_ERROR", "error_code": "X", "error_message": "no"},
        },
        entity="invoice",
        submitted_at=dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC),
        completed_at=dt.datetime(2026, 1, 5, 9, 0, 2, tzinfo=dt.UTC),
        attempts=2,
    )
    done = _job(ScriptedSource(["pending", "success"])).wait()
    return [failed, done, _job()]  # failed, polled to success, still pending (no response)


def test_snapshot_holds_what_to_dict_holds() -> None:
    for job in _finished_jobs():
        assert job._snapshot() == job.to_dict()
    assert _finished_jobs()[0]._snapshot()["client"]["error"]["error_code"] == "X"


def test_snapshot_shares_the_jobs_dicts_while_to_dict_still_copies() -> None:
    job = _finished_jobs()[0]
    snap, copied = job._snapshot(), job.to_dict()
    assert snap["response"] is job._snapshot()["response"]  # no copy per read
    copied["response"]["body"]["error_code"] = "CHANGED"
    copied["request"]["body"]["invoice"]["memo"] = "CHANGED"
    assert job.to_dict()["response"]["body"]["error_code"] == "X"
    assert job.request["body"]["invoice"]["memo"] == "m"


def test_a_snapshot_taken_while_states_are_applied_is_one_consistent_reading() -> None:
    job = _job()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        for i in range(300):
            mark = n * 1000 + i
            job.apply(
                JobState("job-1", "pending", {"mark": mark}, {"body": {"mark": mark}}, None, None)
            )

    def reader() -> None:
        try:
            for _ in range(600):
                snap = job._snapshot()
                if "response" in snap:  # request and response come from the same apply
                    assert snap["request"]["mark"] == snap["response"]["body"]["mark"]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert job._snapshot()["request"]["mark"] % 1000 == 299
