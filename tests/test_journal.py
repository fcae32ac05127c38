"""rutter_nb.journal: the append-only record that makes batches resumable exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rutter_nb import journal as journal_mod
from rutter_nb.journal import Journal, JournalError, read

REQ = {"method": "POST", "path": "/accounting/invoices", "body": {"invoice": {"memo": "a"}}}


def _plan(n: int) -> list[tuple[int, str, dict[str, object]]]:
    return [(i, f"key-{i}", {**REQ, "i": i}) for i in range(n)]


def test_round_trip_of_every_record_kind(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    with Journal.create(path, {"count": 4, "response_mode": "async"}) as j:
        j.record_requests(_plan(4))
        j.record_accepted(0, "job-0", "2026-12-04T20:00:00+00:00")
        j.record_accepted(1, "job-1")
        j.record_done(1, {"id": "job-1", "status": "success", "response": {"http_status": 200}})
        j.record_rejected(2, {"class": "ValidationError", "http_status": 400})
    state = read(path)
    assert state.header["count"] == 4
    assert [e.state for e in state.entries] == ["accepted", "done", "rejected", "unsent"]
    assert [e.key for e in state.entries] == ["key-0", "key-1", "key-2", "key-3"]
    assert state.entries[1].job == {
        "id": "job-1",
        "status": "success",
        "response": {"http_status": 200},
    }
    assert state.entries[2].error == {"class": "ValidationError", "http_status": 400}
    assert state.counts() == {"unsent": 1, "accepted": 1, "done": 1, "rejected": 1}
    assert state.entries[0].submitted_at == "2026-12-04T20:00:00+00:00"


def test_keys_are_fsynced_before_record_requests_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced_sizes: list[int] = []
    real_fsync = os.fsync
    path = tmp_path / "batch.jsonl"

    def spy(fd: int) -> None:
        real_fsync(fd)
        synced_sizes.append(path.stat().st_size)

    monkeypatch.setattr(journal_mod.os, "fsync", spy)
    j = Journal.create(path, {"count": 3})
    j.record_requests(_plan(3))
    size_after_plan = path.stat().st_size
    assert synced_sizes[-1] == size_after_plan  # everything written was fsynced
    assert b"key-2" in path.read_bytes()
    j.close()


def test_every_record_reaches_the_os_at_once(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    j = Journal.create(path, {"count": 1})
    j.record_requests(_plan(1))
    j.record_accepted(0, "job-0")
    # Read through another file object while the writer stays open: nothing is buffered.
    assert read(path).entries[0].job_id == "job-0"
    j.close()


def test_torn_last_line_is_ignored_and_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    with Journal.create(path, {"count": 2}) as j:
        j.record_requests(_plan(2))
        j.record_accepted(0, "job-0")
    with open(path, "ab") as fh:
        fh.write(b'{"type":"accepted","i":1,"job_')  # the crash hit mid-write
    state = read(path)
    assert state.torn_tail is True
    assert [e.state for e in state.entries] == ["accepted", "unsent"]

    j, state = Journal.append_to(path)
    j.record_accepted(1, "job-1")
    j.close()
    state = read(path)
    assert state.torn_tail is False
    assert [e.job_id for e in state.entries] == ["job-0", "job-1"]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_damage_before_the_last_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    with Journal.create(path, {"count": 2}) as j:
        j.record_requests(_plan(2))
    lines = path.read_bytes().split(b"\n")
    lines[1] = b"{garbage"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(JournalError, match="corrupt at line 2"):
        read(path)


def test_not_a_journal_and_missing_file_give_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no journal"):
        read(tmp_path / "missing.jsonl")
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": 1}\n')
    with pytest.raises(JournalError, match="not a rutter_nb batch journal"):
        read(other)


def test_create_refuses_to_overwrite_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    Journal.create(path, {"count": 0}).close()
    with pytest.raises(JournalError, match=r"Batch\.resume"):
        Journal.create(path, {"count": 0})


def test_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    first = Journal.create(path, {"count": 0})
    with pytest.raises(JournalError, match="in use"):
        Journal.append_to(path)
    first.close()
    second, _ = Journal.append_to(path)
    second.close()


def test_records_written_before_sigkill_survive(tmp_path: Path) -> None:
    """A process killed right after writing loses nothing that write() returned for."""
    path = tmp_path / "batch.jsonl"
    script = (
        "import os, signal, sys\n"
        "from rutter_nb.journal import Journal\n"
        "j = Journal.create(sys.argv[1], {'count': 50})\n"
        "j.record_requests([(i, f'k{i}', {'i': i}) for i in range(50)])\n"
        "for i in range(25):\n"
        "    j.record_accepted(i, f'job-{i}')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], timeout=60)
    assert done.returncode == -9
    state = read(path)
    assert state.counts() == {"unsent": 25, "accepted": 25, "done": 0, "rejected": 0}


def test_journal_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    Journal.create(path, {"count": 0}).close()
    assert path.stat().st_mode & 0o777 == 0o600
