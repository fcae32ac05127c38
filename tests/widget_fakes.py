"""Test doubles for the widget unit tests: a stand-in job and a recording comm.

The stand-in job has the attributes and ``on_change`` of the ``Job`` contract in
docs/architecture.md; the recording comm replaces ipywidgets' comm (its ``kernel`` is
truthy, or widgets would drop their messages) so tests count the messages a render sends.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm

TERMINAL = {"success", "failure", "partial_success"}
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class FakeJob:
    """A thread-safe stand-in for ``rutter_nb.jobs.Job`` driven by the test."""

    def __init__(
        self,
        status: str = "pending",
        *,
        job_id: str | None = None,
        submitted_at: datetime | None = T0,
        body: Any = None,
        script: list[dict[str, Any]] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[Any], None]] = []
        self.id = job_id or str(uuid.uuid4())
        self.status = status
        self.polls = 0
        self.attempts = 1
        self.http_status: int | None = None
        self.response: dict[str, Any] | None = None
        self.error: Any = None
        self.entity = "invoice"
        self.response_mode = "async"
        self.request = {
            "method": "POST",
            "url": "http://127.0.0.1:1/versioned/accounting/invoices?access_token=tok-SECRET-123",
            "body": body if body is not None else {"invoice": {"customer_id": "c-1"}},
        }
        self.submitted_at = submitted_at
        self.completed_at: datetime | None = None
        self.duration: float | None = None
        self.script = list(script or [])
        self.refreshes = 0

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def on_change(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._callbacks)

    def update(self, **fields: Any) -> None:
        """Change fields the way a poll would, then tell the listeners."""
        with self._lock:
            for name, value in fields.items():
                setattr(self, name, value)
            if self.status in TERMINAL and self.completed_at is None and self.submitted_at:
                if self.duration is None:
                    self.duration = 1.5
                self.completed_at = self.submitted_at + timedelta(seconds=self.duration)
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback(self)

    def finish(self, status: str = "success", duration: float = 1.5) -> None:
        body = {"invoice": {"id": "inv-1"}} if status == "success" else {"error_code": "BAD"}
        self.update(
            status=status,
            duration=duration,
            http_status=200 if status == "success" else 400,
            response={"http_status": 200 if status == "success" else 400, "body": body},
        )

    def refresh(self) -> None:
        """One poll: apply the next scripted change (if any)."""
        self.refreshes += 1
        step = self.script.pop(0) if self.script else {}
        self.update(polls=self.polls + 1, **step)


class RecordingComm(BaseComm):
    """A comm that records what it would publish instead of sending it."""

    def __init__(self, log: list[tuple[str, str, Any]], **kwargs: Any) -> None:
        self.kernel = True  # widgets drop messages when comm.kernel is None
        self._log = log
        super().__init__(**kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, *args: Any, **keys: Any) -> None:
        self._log.append((self.comm_id, msg_type, data))


class CommLog:
    """Every message the widgets created in a test published."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, Any]] = []

    def updates(self) -> list[tuple[str, Any]]:
        """``(comm_id, state)`` of every ``update`` message (one per synced change set)."""
        return [
            (cid, data["state"])
            for cid, kind, data in list(self.messages)
            if kind == "comm_msg" and data.get("method") == "update"
        ]

    def count(self) -> int:
        return len(self.updates())

    def clear(self) -> None:
        self.messages.clear()


def record_comms(monkeypatch: pytest.MonkeyPatch) -> CommLog:
    """Make every widget created from now on (in this test) publish into a CommLog."""
    log = CommLog()
    monkeypatch.setattr(comm, "create_comm", lambda **kw: RecordingComm(log.messages, **kw))
    return log


class ManualRenderer:
    """Stands in for the renderer thread so a unit test decides when views tick."""

    def __init__(self, interval: float = float("inf")) -> None:
        self.views: list[Any] = []
        self.interval = interval  # infinite: no drawing on the main thread unless a test asks

    def add(self, view: Any) -> None:
        if view not in self.views:
            self.views.append(view)

    def remove(self, view: Any) -> None:
        if view in self.views:
            self.views.remove(view)

    def tick(self) -> None:
        for view in list(self.views):
            if not view._tick():
                self.remove(view)


def fixed_clock(at: datetime = T0 + timedelta(seconds=3)) -> Callable[[], datetime]:
    return lambda: at
