"""An append-only JSON-lines journal that lets a batch survive a kernel restart or a crash.

Order of writes, which is what makes "exactly once" possible:

1. every request and its Idempotency-Key, written and fsynced **before anything is sent**
   (resending with the same key after a crash makes Rutter replay, not duplicate);
2. the job id when Rutter accepts the request;
3. the terminal job when it is done (so a resumed batch need not fetch it again).

Records 2 and 3 go straight to the OS with one ``write`` each (they survive the process
being killed) and are fsynced in groups: losing one to a power cut only costs a replayed
request, never a duplicate. A crash can tear the last line; readers ignore a torn last
line and writers cut it off before appending. Secrets never go in: callers store redacted
requests, and the client adds credentials at send time.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from rutter_nb.errors import RutterError

try:  # POSIX: refuse two writers on one journal
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["FORMAT_VERSION", "Journal", "JournalEntry", "JournalError", "JournalState", "read"]

FORMAT_VERSION = 1
_FSYNC_EVERY = 0.5  # seconds between group fsyncs of accept/done records


class JournalError(RutterError):
    """A journal that cannot be used: missing, corrupt, locked, or not a batch journal."""


@dataclass
class JournalEntry:
    """What the journal knows about one request of the batch."""

    index: int
    key: str
    request: dict[str, Any]
    job_id: str | None = None
    submitted_at: str | None = None
    status: str | None = None
    job: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def state(self) -> str:
        """``unsent`` (maybe sent, never seen accepted), ``accepted``, ``done`` or ``rejected``."""
        if self.error is not None:
            return "rejected"
        if self.status is not None:
            return "done"
        return "accepted" if self.job_id is not None else "unsent"


@dataclass
class JournalState:
    """A journal read back: the batch header and one entry per request, in order."""

    header: dict[str, Any]
    entries: list[JournalEntry] = field(default_factory=list)
    torn_tail: bool = False

    def counts(self) -> dict[str, int]:
        out = {"unsent": 0, "accepted": 0, "done": 0, "rejected": 0}
        for entry in self.entries:
            out[entry.state] += 1
        return out


def _dumps(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()


class Journal:
    """The writer: ``Journal.create(path, header)`` starts one, ``append_to`` resumes one."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        self._dirty = False
        self._last_sync = time.monotonic()
        self._closed = False

    # -- opening ----------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | os.PathLike[str], header: Mapping[str, Any]) -> Journal:
        """Start a new journal; refuses to overwrite one that has records."""
        target = Path(path)
        if target.exists() and target.stat().st_size > 0:
            raise JournalError(
                f"journal {target} already has records: use rutter_nb.Batch.resume(path, client) "
                "to continue that batch, or choose a new path"
            )
        journal = cls._open(target)
        journal._append(
            {"type": "batch", "v": FORMAT_VERSION, "created_at": time.time(), **header},
            sync=True,
        )
        return journal

    @classmethod
    def append_to(cls, path: str | os.PathLike[str]) -> tuple[Journal, JournalState]:
        """Open an existing journal to continue it: read it, cut a torn tail, lock it."""
        target = Path(path)
        journal = cls._open(target)
        try:
            state = read(target)
            if state.torn_tail:
                with open(target, "rb") as fh:
                    data = fh.read()
                os.ftruncate(journal._fd, data.rfind(b"\n") + 1)
                os.fsync(journal._fd)
        except BaseException:
            journal.close()
            raise
        return journal, state

    @classmethod
    def _open(cls, path: Path) -> Journal:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise JournalError(f"cannot open journal {path}: {exc.strerror}") from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise JournalError(
                    f"journal {path} is in use by another batch (locked); "
                    "wait for it to finish or cancel it first"
                ) from None
        return cls(path, fd)

    # -- records ----------------------------------------------------------------------

    def record_requests(self, entries: Iterable[tuple[int, str, Mapping[str, Any]]]) -> None:
        """Write (index, idempotency key, request) records, then fsync: call before sending."""
        chunk: list[bytes] = []
        for index, key, request in entries:
            chunk.append(_dumps({"type": "request", "i": index, "key": key, "request": request}))
            if len(chunk) >= 512:
                self._write(b"".join(chunk))
                chunk.clear()
        if chunk:
            self._write(b"".join(chunk))
        self.sync()

    def record_accepted(self, index: int, job_id: str, submitted_at: str | None = None) -> None:
        """Record the job id Rutter gave the request (and when it was submitted, ISO-8601)."""
        record: dict[str, Any] = {"type": "accepted", "i": index, "job_id": job_id}
        if submitted_at is not None:
            record["submitted_at"] = submitted_at
        self._append(record)

    def record_done(self, index: int, job: Mapping[str, Any]) -> None:
        """Record a terminal job (its AsynchronousJob JSON, already redacted)."""
        self._append(
            {
                "type": "done",
                "i": index,
                "job_id": job.get("id"),
                "status": job.get("status"),
                "job": job,
            }
        )

    def record_rejected(self, index: int, error: Mapping[str, Any]) -> None:
        """Record a request refused before acceptance (nothing was stored by Rutter)."""
        self._append({"type": "rejected", "i": index, "error": error})

    def _append(self, record: Mapping[str, Any], *, sync: bool = False) -> None:
        self._write(_dumps(record))
        if sync or time.monotonic() - self._last_sync >= _FSYNC_EVERY:
            self.sync()

    def _write(self, data: bytes) -> None:
        if self._closed:
            raise JournalError(f"journal {self.path} is closed")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._dirty = True

    def sync(self) -> None:
        """fsync everything written so far."""
        if self._dirty and not self._closed:
            os.fsync(self._fd)
            self._dirty = False
        self._last_sync = time.monotonic()

    def close(self) -> None:
        """fsync, unlock and close; safe to call twice."""
        if self._closed:
            return
        try:
            self.sync()
        finally:
            self._closed = True
            os.close(self._fd)  # closing releases the flock

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Journal {self.path}{' closed' if self._closed else ''}>"


def read(path: str | os.PathLike[str]) -> JournalState:
    """Read a journal back. A torn last line is ignored; damage anywhere else is an error."""
    target = Path(path)
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        raise JournalError(f"no journal at {target}") from None
    except OSError as exc:
        raise JournalError(f"cannot read journal {target}: {exc.strerror}") from None
    lines = data.split(b"\n")
    # Each record is one write ending in a newline, so only an unterminated last line can be
    # torn. It is dropped even if it happens to parse: an accept/done record lost that way
    # costs one replayed request, and a request record is torn only before any send.
    torn = lines.pop() != b""
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except ValueError:
            raise JournalError(f"journal {target} is corrupt at line {number}") from None
        if not isinstance(record, dict):
            raise JournalError(f"journal {target} is corrupt at line {number}")
        records.append(record)
    if not records or records[0].get("type") != "batch":
        raise JournalError(f"{target} is not a rutter_nb batch journal (no batch header)")
    header = records[0]
    if header.get("v") != FORMAT_VERSION:
        raise JournalError(f"journal {target} has format {header.get('v')!r}, expected 1")
    state = JournalState(header=header, torn_tail=torn)
    by_index: dict[int, JournalEntry] = {}
    for number, record in enumerate(records[1:], start=2):
        kind, index = record.get("type"), record.get("i")
        if not isinstance(index, int):
            raise JournalError(f"journal {target} line {number} has no request index")
        if kind == "request":
            entry = JournalEntry(index=index, key=str(record["key"]), request=record["request"])
            by_index[index] = entry
            state.entries.append(entry)
            continue
        known = by_index.get(index)
        if known is None:
            raise JournalError(f"journal {target} line {number} names unknown request {index}")
        if kind == "accepted":
            known.job_id = record.get("job_id")
            known.submitted_at = record.get("submitted_at")
        elif kind == "done":
            known.job_id = record.get("job_id") or known.job_id
            known.status = record.get("status")
            known.job = record.get("job")
        elif kind == "rejected":
            known.error = record.get("error") or {}
        else:
            raise JournalError(f"journal {target} line {number} has unknown type {kind!r}")
    return state
