"""JobView: what one render sends, that nothing is sent without a change, and the bundle."""

from __future__ import annotations

import pytest
from widget_fakes import CommLog, FakeJob, ManualRenderer, fixed_clock, record_comms

from rutter_nb.widgets import JobView
from rutter_nb.widgets.live import WIDGET_MIME


@pytest.fixture
def comm_log(monkeypatch: pytest.MonkeyPatch) -> CommLog:
    return record_comms(monkeypatch)


def make_view(job: FakeJob) -> tuple[JobView, ManualRenderer]:
    renderer = ManualRenderer()
    view = JobView(job, renderer=renderer, clock=fixed_clock())  # type: ignore[arg-type]
    return view, renderer


def test_a_poll_that_changes_the_status_sends_one_message(comm_log: CommLog) -> None:
    job = FakeJob("prequeued")
    view, renderer = make_view(job)
    comm_log.clear()

    job.update(status="pending", polls=1)
    renderer.tick()

    updates = comm_log.updates()
    assert len(updates) == 1
    assert updates[0][0] == view._header.comm.comm_id
    assert 'data-status="pending"' in updates[0][1]["value"]
    assert view.renders == 2  # the first draw, then this one


def test_no_message_when_nothing_changed(comm_log: CommLog) -> None:
    job = FakeJob("pending")
    view, renderer = make_view(job)
    comm_log.clear()

    for _ in range(5):
        renderer.tick()

    assert comm_log.count() == 0
    assert view.renders == 1


def test_a_change_that_draws_the_same_picture_sends_nothing(comm_log: CommLog) -> None:
    job = FakeJob("pending")
    view, renderer = make_view(job)
    comm_log.clear()

    job.update(status="pending")  # a poll that learnt nothing new (same polls count)
    renderer.tick()

    assert view.renders == 2
    assert comm_log.count() == 0


def test_finishing_sends_header_and_response_then_stops(comm_log: CommLog) -> None:
    job = FakeJob("pending")
    view, renderer = make_view(job)
    comm_log.clear()

    job.finish("success")
    renderer.tick()

    changed = {cid for cid, _ in comm_log.updates()}
    assert changed == {view._header.comm.comm_id, view._response.comm.comm_id}
    assert comm_log.count() == 2
    assert view.finished and renderer.views == []
    assert job.listeners == 0  # let go of the job
    comm_log.clear()
    job.update(polls=9)
    renderer.tick()
    assert comm_log.count() == 0


def test_a_finished_job_is_drawn_once_and_never_registered(comm_log: CommLog) -> None:
    job = FakeJob("pending")
    job.finish("failure")
    view, renderer = make_view(job)
    assert view.finished and renderer.views == []
    assert 'data-status="failure"' in view._header.value


def test_bundle_has_widget_html_and_one_line_text(comm_log: CommLog) -> None:
    job = FakeJob("pending")
    view, _ = make_view(job)
    job.update(polls=3, http_status=None)

    bundle = view._repr_mimebundle_()

    assert set(bundle) == {WIDGET_MIME, "text/html", "text/plain"}
    assert bundle[WIDGET_MIME]["model_id"] == view.widget.model_id
    assert 'class="rutter-job"' in bundle["text/html"]
    assert "\n" not in bundle["text/plain"]
    assert "pending" in bundle["text/plain"] and "3 polls" in bundle["text/plain"]
    assert set(view._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}
    assert WIDGET_MIME not in view._repr_mimebundle_(exclude={WIDGET_MIME})


def test_secrets_never_reach_the_widgets_or_the_snapshot(comm_log: CommLog) -> None:
    job = FakeJob("pending", body={"invoice": {"memo": "x"}, "client_secret": "hunter2-secret"})
    view, renderer = make_view(job)
    job.finish("success")
    renderer.tick()

    published = repr(comm_log.messages)
    shown = view.to_html() + view.text() + repr(view)
    for text in (published, shown):
        assert "hunter2-secret" not in text
        assert "tok-SECRET-123" not in text
    assert "***" in view._request.value


def test_html_is_escaped(comm_log: CommLog) -> None:
    job = FakeJob("pending", body={"invoice": {"memo": "<script>alert(1)</script>"}})
    view, _ = make_view(job)
    assert "<script>" not in view.to_html()
    assert "&lt;script&gt;" in view.to_html()


def test_stop_draws_once_more_and_lets_go(comm_log: CommLog) -> None:
    job = FakeJob("pending")
    view, renderer = make_view(job)
    job.update(polls=4)

    view.stop()

    assert view.finished and "4 polls" in view._header.value
    assert job.listeners == 0 and view not in renderer.views


def test_the_final_state_replaces_the_display(comm_log: CommLog) -> None:
    class Handle:
        def __init__(self) -> None:
            self.updates: list[str] = []

        def update(self, obj: JobView) -> None:
            self.updates.append(obj._repr_mimebundle_()["text/html"])

    job = FakeJob("pending")
    view, renderer = make_view(job)
    handle = Handle()
    view.attach_display(handle)
    renderer.tick()
    assert handle.updates == []

    job.finish("success")
    renderer.tick()

    assert len(handle.updates) == 1
    assert 'data-status="success"' in handle.updates[0]


def test_the_elapsed_time_ticks_once_a_second_while_running(comm_log: CommLog) -> None:
    from datetime import timedelta

    from widget_fakes import T0

    now = [T0 + timedelta(seconds=2.1)]
    job = FakeJob("pending")
    renderer = ManualRenderer()
    view = JobView(job, renderer=renderer, clock=lambda: now[0])  # type: ignore[arg-type]
    comm_log.clear()

    now[0] += timedelta(seconds=0.3)  # same second: no redraw
    renderer.tick()
    assert view.renders == 1
    now[0] += timedelta(seconds=1)
    renderer.tick()
    assert view.renders == 2 and comm_log.count() == 1
    assert "3 s" in view._header.value


def test_a_change_on_the_main_thread_draws_at_once_when_due(comm_log: CommLog) -> None:
    """What makes a blocking job.wait() draw where thread updates do not show (Colab)."""
    job = FakeJob("pending")
    renderer = ManualRenderer(interval=0.0)
    view = JobView(job, renderer=renderer, clock=fixed_clock())  # type: ignore[arg-type]
    comm_log.clear()

    job.update(polls=1)  # no renderer tick

    assert view.renders == 2 and comm_log.count() == 1


def test_a_change_on_another_thread_waits_for_the_renderer(comm_log: CommLog) -> None:
    import threading

    job = FakeJob("pending")
    view = JobView(job, renderer=ManualRenderer(interval=0.0), clock=fixed_clock())  # type: ignore[arg-type]
    worker = threading.Thread(target=job.update, kwargs={"polls": 1})
    worker.start()
    worker.join()
    assert view.renders == 1


def test_a_non_job_gets_a_clear_error() -> None:
    with pytest.raises(TypeError, match="JobView needs a rutter_nb Job"):
        JobView({"id": "x"})
