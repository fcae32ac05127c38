"""SQLite state (WAL) so jobs, entities and idempotency keys survive a restart.

One connection, used only from the server's event-loop thread: a single writer with no
lock contention. WAL with `synchronous=NORMAL` commits without an fsync each time,
which keeps a few hundred writes per second cheap. Access tokens are stored hashed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS connections (
    id TEXT PRIMARY KEY, token_hash TEXT UNIQUE NOT NULL, org_id TEXT NOT NULL,
    platform TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entities (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
    connection_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL,
    seeded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entities_by_type ON entities (connection_id, type, seq);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
    connection_id TEXT NOT NULL, client_id TEXT NOT NULL, status TEXT NOT NULL,
    request TEXT NOT NULL, response TEXT, work TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, completed_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
    job_id TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (scope, key)
);
"""

TERMINAL = frozenset({"success", "failure", "partial_success"})


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass
class JobRow:
    """A stored job: the public AsynchronousJob fields plus the private `work` to do."""

    id: str
    connection_id: str
    client_id: str
    status: str
    request: dict[str, Any]
    response: dict[str, Any] | None
    work: dict[str, Any]
    created_at: str
    updated_at: str
    completed_at: str | None = None

    @property
    def done(self) -> bool:
        """True once the job can no longer change."""
        return self.status in TERMINAL

    def public(self) -> dict[str, Any]:
        """The AsynchronousJob object (`response` only once finished) plus timestamps."""
        record: dict[str, Any] = {"id": self.id, "status": self.status, "request": self.request}
        if self.response is not None:
            record["response"] = self.response
        record["created_at"] = self.created_at
        record["updated_at"] = self.updated_at
        record["completed_at"] = self.completed_at
        return record


class Store:
    """Typed reads and writes over one SQLite database (a file or `:memory:`)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        try:
            if path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error:
            self._db.close()
            raise
        self._depth = 0

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self._db.close()

    @contextmanager
    def tx(self) -> Iterator[None]:
        """One atomic transaction; nests by joining the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    def bump_counter(self, key: str) -> int:
        """Increment a persistent counter and return its previous value."""
        with self.tx():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            previous = 0 if row is None else int(row[0])
            self._db.execute(
                "INSERT INTO meta VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, previous + 1),
            )
        return previous

    # connections -------------------------------------------------------------------
    def add_connection(
        self, conn_id: str, token_hash: str, org_id: str, platform: str, now: str
    ) -> None:
        """Register a connection under the hash of its access token."""
        self._db.execute(
            "INSERT OR IGNORE INTO connections VALUES (?, ?, ?, ?, ?)",
            (conn_id, token_hash, org_id, platform, now),
        )

    def connection_by_token(self, token_hash: str) -> dict[str, str] | None:
        """The connection (`id`, `orgId`, `platform`) whose token hashes to `token_hash`."""
        row = self._db.execute(
            "SELECT id, org_id, platform FROM connections WHERE token_hash = ?", (token_hash,)
        ).fetchone()
        if row is None:
            return None
        return {"id": row["id"], "orgId": row["org_id"], "platform": row["platform"]}

    def connection_count(self) -> int:
        """How many connections exist."""
        return int(self._db.execute("SELECT COUNT(*) FROM connections").fetchone()[0])

    # entities ----------------------------------------------------------------------
    def put_entity(
        self, conn_id: str, type_: str, entity: dict[str, Any], seeded: bool = False
    ) -> None:
        """Insert or replace an entity by id."""
        self._db.execute(
            "INSERT INTO entities (id, connection_id, type, data, seeded) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
            (entity["id"], conn_id, type_, _dumps(entity), int(seeded)),
        )

    def get_entity(self, conn_id: str, type_: str, entity_id: str) -> dict[str, Any] | None:
        """One entity of `type_` on a connection, or None."""
        row = self._db.execute(
            "SELECT data FROM entities WHERE id = ? AND connection_id = ? AND type = ?",
            (entity_id, conn_id, type_),
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def delete_entity(self, conn_id: str, type_: str, entity_id: str) -> bool:
        """Remove an entity; True when it existed."""
        cur = self._db.execute(
            "DELETE FROM entities WHERE id = ? AND connection_id = ? AND type = ?",
            (entity_id, conn_id, type_),
        )
        return cur.rowcount > 0

    def list_entities(
        self, conn_id: str, type_: str, after: int, limit: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of entities in creation order and the position to continue from."""
        rows = self._db.execute(
            "SELECT seq, data FROM entities WHERE connection_id = ? AND type = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (conn_id, type_, after, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        next_after = int(rows[-1]["seq"]) if more and rows else None
        return [json.loads(r["data"]) for r in rows], next_after

    def created_counts(self) -> dict[str, int]:
        """Entities created through the API (not seed data), by type."""
        rows = self._db.execute(
            "SELECT type, COUNT(*) FROM entities WHERE seeded = 0 GROUP BY type"
        ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    # jobs --------------------------------------------------------------------------
    def insert_job(self, job: JobRow) -> None:
        """Store a newly accepted job."""
        self._db.execute(
            "INSERT INTO jobs (id, connection_id, client_id, status, request, response, work, "
            "created_at, updated_at, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job.id,
                job.connection_id,
                job.client_id,
                job.status,
                _dumps(job.request),
                None if job.response is None else _dumps(job.response),
                _dumps(job.work),
                job.created_at,
                job.updated_at,
                job.completed_at,
            ),
        )

    def save_job(self, job: JobRow) -> None:
        """Write a job's status, response and timestamps back."""
        self._db.execute(
            "UPDATE jobs SET status = ?, response = ?, updated_at = ?, completed_at = ? "
            "WHERE id = ?",
            (
                job.status,
                None if job.response is None else _dumps(job.response),
                job.updated_at,
                job.completed_at,
                job.id,
            ),
        )

    def get_job(self, job_id: str) -> JobRow | None:
        """A job by id, or None."""
        row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def unfinished_jobs(self) -> list[JobRow]:
        """Jobs still `prequeued` or `pending`, oldest first (resumed at start)."""
        rows = self._db.execute(
            "SELECT * FROM jobs WHERE status IN ('prequeued', 'pending') ORDER BY seq"
        ).fetchall()
        return [_job(r) for r in rows]

    def job_counts(self) -> dict[str, int]:
        """How many jobs are in each status."""
        rows = self._db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    # idempotency -------------------------------------------------------------------
    def get_key(self, scope: str, key: str) -> tuple[str, str] | None:
        """`(fingerprint, job_id)` stored for an Idempotency-Key, or None."""
        row = self._db.execute(
            "SELECT fingerprint, job_id FROM idempotency WHERE scope = ? AND key = ?", (scope, key)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def put_key(self, scope: str, key: str, fingerprint: str, job_id: str, created: float) -> None:
        """Remember the first accepted request for a key."""
        self._db.execute(
            "INSERT INTO idempotency VALUES (?, ?, ?, ?, ?)",
            (scope, key, fingerprint, job_id, created),
        )

    def prune_keys(self, older_than: float) -> int:
        """Forget keys stored before `older_than` (epoch seconds)."""
        return self._db.execute("DELETE FROM idempotency WHERE created < ?", (older_than,)).rowcount

    # whole database ----------------------------------------------------------------
    def clear(self) -> None:
        """Delete every row (used by `POST /_sandbox/reset`)."""
        with self.tx():
            for table in ("idempotency", "jobs", "entities", "connections"):
                self._db.execute(f"DELETE FROM {table}")


def _job(row: sqlite3.Row) -> JobRow:
    return JobRow(
        id=row["id"],
        connection_id=row["connection_id"],
        client_id=row["client_id"],
        status=row["status"],
        request=json.loads(row["request"]),
        response=None if row["response"] is None else json.loads(row["response"]),
        work=json.loads(row["work"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        completed_at=row["completed_at"],
    )
