"""`Sandbox` life cycle over real sockets: start, stop, context manager, restart."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from rutter_nb.sandbox import Sandbox, SandboxConfigError, SandboxError

from .helpers import client, invoice_body, wait_job


def test_context_manager_serves_on_a_free_port_and_stops(tmp_path: Path) -> None:
    with Sandbox(db=str(tmp_path / "s.db"), port=0) as sb:
        assert sb.url.startswith("http://127.0.0.1:") and sb.port > 0
        assert sb.base_url == sb.url + "/versioned"
        assert httpx.get(sb.url + "/openapi.json").status_code == 200
        url = sb.url
    assert not sb.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/openapi.json", timeout=2)


def test_fixture_sandbox_has_demo_credentials(sandbox: Sandbox) -> None:
    with client(sandbox) as http:
        assert http.get("/accounting/customers").status_code == 200
    assert sandbox.client_id and sandbox.client_secret and sandbox.access_token


def test_repr_hides_secrets(sandbox: Sandbox) -> None:
    text = repr(sandbox) + repr(sandbox.config)
    assert sandbox.client_secret not in text
    assert sandbox.access_token not in text
    assert sandbox.url in repr(sandbox)


def test_memory_database_and_default_temp_file() -> None:
    with Sandbox(db=":memory:") as sb, client(sb) as http:
        assert http.get("/accounting/items").status_code == 200
    with Sandbox() as sb, client(sb) as http:
        assert http.get("/accounting/items").status_code == 200


def test_bad_settings_raise_typed_errors() -> None:
    with pytest.raises(SandboxConfigError, match="job_duration"):
        Sandbox(job_duration="3:1")
    with pytest.raises(SandboxConfigError, match="fault"):
        Sandbox(faults={"explode": 0.1})
    with pytest.raises(SandboxConfigError, match="rate_limit"):
        Sandbox(rate_limit="fast")


def test_port_in_use_is_a_clear_error(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="cannot bind"):
        Sandbox(port=sandbox.port, db=":memory:").start()


def test_an_unusable_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "not-a-db.sqlite3").write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(SandboxError, match=r"did not start .*DatabaseError"):
        Sandbox(db=str(tmp_path / "not-a-db.sqlite3")).start()


def test_runtime_control_needs_a_running_sandbox() -> None:
    with pytest.raises(SandboxError, match="not running"):
        Sandbox(db=":memory:").stats()


def test_jobs_survive_a_restart_on_the_same_database(tmp_path: Path) -> None:
    db = str(tmp_path / "restart.sqlite3")
    with Sandbox(db=db, seed=3, platform_rate="2/60") as sb, client(sb) as http:
        body = invoice_body(http, mode="async")
        headers = {"X-Sandbox-Job-Duration": "1.0"}
        ids = [
            http.post("/accounting/invoices", json=body, headers=headers).json()["async_response"][
                "id"
            ]
            for _ in range(4)
        ]
        before = [http.get(f"/jobs/{i}").json()["status"] for i in ids]
    # two jobs got a platform slot (pending), two still wait for one (prequeued)
    assert sorted(before) == ["pending", "pending", "prequeued", "prequeued"]
    with Sandbox(db=db, seed=3) as sb, client(sb) as http:
        jobs = [wait_job(http, i) for i in ids]
        assert [j["status"] for j in jobs] == ["success"] * 4
        assert sb.stats()["entities_created"] == {"invoice": 4}
        invoices = http.get("/accounting/invoices").json()["invoices"]
        assert {j["response"]["body"]["invoice"]["id"] for j in jobs} == {i["id"] for i in invoices}


def test_starting_leaves_the_host_logging_configuration_alone(tmp_path: Path) -> None:
    # (uvicorn itself empties "uvicorn.access" when access_log=False: no lines to leak)
    names = ("", "uvicorn", "uvicorn.error", "rutter_nb")
    before = {n: list(logging.getLogger(n).handlers) for n in names}
    with Sandbox(db=str(tmp_path / "log.db")):
        pass
    assert {n: list(logging.getLogger(n).handlers) for n in names} == before
