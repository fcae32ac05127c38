"""No secret leaves the sandbox: not in replies, jobs, stats, logs, reprs or its database."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from rutter_nb.sandbox import Sandbox

from .helpers import invoice_body, wait_job

SECRET = "canary-secret-8d41f0"
TOKEN = "canary-token-77c2e9"
BASIC = base64.b64encode(f"canary-client:{SECRET}".encode()).decode()


def test_secrets_never_leak(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    db = tmp_path / "secrets.sqlite3"
    sb = Sandbox(
        db=str(db), client_id="canary-client", client_secret=SECRET, access_token=TOKEN, seed=2
    )
    with sb:
        seen += [repr(sb), repr(sb.config), str(sb.stats())]
        with httpx.Client(
            base_url=sb.base_url,
            auth=("canary-client", SECRET),
            headers={"X-Rutter-Version": "2024-08-31"},
            params={"access_token": TOKEN},
        ) as http:
            body = invoice_body(http, mode="async")
            replies: list[Any] = [
                http.post("/accounting/invoices", json=body, headers={"Idempotency-Key": "k"}),
                http.post("/accounting/invoices", json={"invoice": {}}),
                http.post(
                    "/accounting/invoices",
                    content=b"{",
                    headers={"Content-Type": "application/json"},
                ),
                http.get("/accounting/invoices", params={"access_token": TOKEN + "x"}),
                http.get("/accounting/invoices", auth=("canary-client", SECRET + "x")),
                http.post(
                    "/accounting/invoices",
                    json=body,
                    headers={"X-Sandbox-Fault": "error_after_accept"},
                ),
                http.get(sb.url + "/_sandbox/config"),
                http.get(sb.url + "/_sandbox/stats"),
                http.get(sb.url + "/openapi.json"),
            ]
            job = wait_job(http, replies[0].json()["async_response"]["id"])
        seen += [r.text for r in replies] + [str(r.headers) for r in replies] + [str(job)]
        seen.append(str(sb.stats()))
    seen += [r.getMessage() + str(r.exc_info or "") for r in caplog.records]
    files = "".join(p.read_bytes().decode("latin-1") for p in tmp_path.iterdir())
    assert job["id"] in files  # the database (and its WAL) really were read
    text = "\n".join([*seen, files])
    for secret in (SECRET, TOKEN, BASIC):
        assert secret not in text
