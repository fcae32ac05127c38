"""The SQLite store: WAL, pages, jobs, keys, persistence across connections."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rutter_nb.sandbox.store import JobRow, Store


def job(job_id: str, status: str = "prequeued") -> JobRow:
    return JobRow(
        id=job_id,
        connection_id="c",
        client_id="client",
        status=status,
        request={"method": "POST", "url": "u", "body": {}},
        response=None,
        work={"duration": 1},
        created_at="2024-01-01T00:00:00.000Z",
        updated_at="2024-01-01T00:00:00.000Z",
    )


def test_file_databases_use_wal_and_persist(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sqlite3")
    store = Store(path)
    with store.tx():
        store.insert_job(job("j1"))
        store.put_entity("c", "invoice", {"id": "e1", "total_amount": 1.5})
    store.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    again = Store(path)
    assert again.get_job("j1") == job("j1")
    assert again.get_entity("c", "invoice", "e1") == {"id": "e1", "total_amount": 1.5}
    assert again.get_entity("c", "bill", "e1") is None
    again.close()


def test_failed_transactions_roll_back() -> None:
    store = Store(":memory:")
    with pytest.raises(RuntimeError), store.tx():
        store.insert_job(job("j1"))
        raise RuntimeError("boom")
    assert store.get_job("j1") is None


def test_unfinished_jobs_and_counts() -> None:
    store = Store(":memory:")
    for n, status in enumerate(["prequeued", "pending", "success", "failure", "pending"]):
        store.insert_job(job(f"j{n}", status))
    assert [j.id for j in store.unfinished_jobs()] == ["j0", "j1", "j4"]
    assert store.job_counts() == {"prequeued": 1, "pending": 2, "success": 1, "failure": 1}
    done = store.get_job("j0")
    assert done is not None
    done.status, done.response = "success", {"http_status": 200, "body": {}}
    store.save_job(done)
    assert store.get_job("j0") == done and done.done


def test_pages_continue_after_the_last_seen_row() -> None:
    store = Store(":memory:")
    for n in range(5):
        store.put_entity("c", "customer", {"id": f"e{n}"})
    store.put_entity("other", "customer", {"id": "x"})
    first, after = store.list_entities("c", "customer", 0, 2)
    assert [e["id"] for e in first] == ["e0", "e1"] and after is not None
    rest, end = store.list_entities("c", "customer", after, 10)
    assert [e["id"] for e in rest] == ["e2", "e3", "e4"] and end is None


def test_idempotency_keys_are_unique_per_scope_and_prunable() -> None:
    store = Store(":memory:")
    store.put_key("s", "k", "f", "j1", created=100.0)
    assert store.get_key("s", "k") == ("f", "j1")
    assert store.get_key("other", "k") is None
    with pytest.raises(sqlite3.IntegrityError):
        store.put_key("s", "k", "g", "j2", created=101.0)
    assert store.prune_keys(older_than=200.0) == 1
    assert store.get_key("s", "k") is None


def test_counters_and_clear() -> None:
    store = Store(":memory:")
    assert [store.bump_counter("starts") for _ in range(3)] == [0, 1, 2]
    store.put_entity("c", "invoice", {"id": "e"}, seeded=False)
    store.put_entity("c", "customer", {"id": "s"}, seeded=True)
    assert store.created_counts() == {"invoice": 1}
    store.clear()
    assert store.created_counts() == {} and store.get_entity("c", "customer", "s") is None
