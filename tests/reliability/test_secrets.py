"""Scenario 8: canary credentials through everything the suite produces; zero occurrences.

One run exercises the client, a journalled webhook batch with failures and refusals, typed
errors, frames (and a parquet file), widget HTML, an executed notebook and the webhook
receiver's log, then scans every rendering, log record, file and output for the canaries.
"""

from __future__ import annotations

import base64
import json
import logging
import textwrap
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import nbformat
import pytest
from batch_helpers import customer_id, invoices
from nbclient import NotebookClient

import rutter_nb
from rutter_nb import errors, webhooks
from rutter_nb.polling import PollPolicy
from rutter_nb.retry import RetryPolicy
from rutter_nb.sandbox import Sandbox
from rutter_nb.webhooks import Receiver
from rutter_nb.widgets import BatchBoard, JobView

from .support import Row, record

pytestmark = pytest.mark.reliability

CLIENT_ID = "rel-canary-client"
SECRET = "rel-canary-secret-5b7e2c91"
TOKEN = "rel-canary-token-a3f08d64"
BASIC = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
CANARIES = (SECRET, TOKEN, BASIC, quote(SECRET), base64.b64encode(SECRET.encode()).decode())

NOTEBOOK_CELLS = [
    """
    import rutter_nb, logging
    logging.basicConfig(level=logging.DEBUG)  # everything a curious user could turn on
    client = rutter_nb.Client()
    client
    """,
    """
    customers = client.send(rutter_nb.request("GET", "/accounting/customers")).result
    req = rutter_nb.invoice(customer_id=customers["customers"][0]["id"], issue_date="2024-05-01",
                            currency_code="USD", line_items=[{"total_amount": 5}])
    print(req.to_curl())
    req
    """,
    """
    job = client.send(req, "async")
    job.wait(timeout=60)
    job
    """,
    """
    batch = client.send_many(
        [req.with_idempotency_key(f"nb-{i}") for i in range(5)], "async", webhooks=True
    )
    batch.wait(timeout=120)
    batch.jobs_frame()
    """,
    """
    try:
        client.send(rutter_nb.request("POST", "/accounting/invoices", body={"invoice": {}}))
    except rutter_nb.RutterError as exc:
        print(repr(exc)); err = exc
    err
    """,
    """
    client.settings
    """,
]


def _render(obj: Any) -> str:
    """Every rendering a notebook, a log or a traceback could show of ``obj``."""
    parts = [repr(obj), str(obj)]
    for name in ("_repr_html_", "to_html", "text", "to_curl", "to_token", "to_dict", "stats"):
        method = getattr(obj, name, None)
        if callable(method):
            parts.append(json.dumps(method(), default=str))
    bundle = getattr(obj, "_repr_mimebundle_", None)
    if callable(bundle):
        parts.append(json.dumps(bundle(), default=str))
    if isinstance(obj, BaseException):
        parts += traceback.format_exception(obj)
    return "\n".join(parts)


def _run_notebook(sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in {
        "RUTTER_BASE_URL": sb.base_url,
        "RUTTER_CLIENT_ID": CLIENT_ID,
        "RUTTER_CLIENT_SECRET": SECRET,
        "RUTTER_ACCESS_TOKEN": TOKEN,
    }.items():
        monkeypatch.setenv(key, value)  # the kernel inherits them, as from a user's shell
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(textwrap.dedent(c).strip()) for c in NOTEBOOK_CELLS]
    )
    NotebookClient(nb, timeout=180, kernel_name="python3").execute()
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    errors_out = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors_out == []
    return path


@pytest.mark.kernel
def test_canary_credentials_appear_nowhere(
    sandbox_factory: Callable[..., Sandbox],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the receiver's and httpx's included
    sb = sandbox_factory(
        client_id=CLIENT_ID,
        client_secret=SECRET,
        access_token=TOKEN,
        job_duration=(0.05, 0.2),
        failure_rate=0.2,
        db=str(tmp_path / "canary.sqlite3"),
    )
    produced: list[tuple[str, str]] = []
    journal = tmp_path / "canary.jsonl"
    client = rutter_nb.Client(
        sb.base_url,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        access_token=TOKEN,
        poll=PollPolicy(initial=0.05, max_interval=0.3, timeout=60.0),
        retry=RetryPolicy(max_retries=2, base_delay=0.05),
    )
    with client, Receiver(SECRET) as receiver:
        reqs = invoices(customer_id(sb), 12, "CANARY")
        reqs.insert(3, rutter_nb.request("POST", "/accounting/invoices", body={"invoice": {}}))
        # an unknown customer: accepted, then a failed job (450), whatever failure_rate draws
        reqs += invoices("00000000-0000-4000-8000-00000000dead", 1, "CANARY-FAIL")
        batch = client.send_many(reqs, "async", journal=journal, webhooks=receiver)
        batch.wait(timeout=120)
        # forged and unsigned deliveries make the receiver log its refusals
        forged = b'{"type": "JOB", "job": {"id": "x", "status": "success"}}'
        for sig in (webhooks.sign(forged, "attacker"), None):
            headers = {webhooks.SIGNATURE_HEADER: sig} if sig else {}
            httpx.post(receiver.url, content=forged, headers=headers, timeout=30)
        job = client.send(reqs[0].with_idempotency_key("canary-single"), "prefer_sync")
        caught: list[BaseException] = []
        for attempt in (
            lambda: client.send(reqs[1].with_idempotency_key("canary-single"), "async"),  # 409
            lambda: client.fetch_job("00000000-0000-4000-8000-000000000000"),  # 404
            lambda: client.send(reqs[3]),  # 400
        ):
            with pytest.raises(errors.RutterError) as info:
                attempt()
            caught.append(info.value)
        with (
            rutter_nb.Client(
                "http://127.0.0.1:9/versioned",
                client_id=CLIENT_ID,
                client_secret=SECRET,
                access_token=TOKEN,
                retry=RetryPolicy(max_retries=0),
            ) as dead,
            pytest.raises(errors.TransportError) as info,
        ):
            dead.send(reqs[0])
        caught.append(info.value)
        frames = batch.to_frames(entities="invoice")
        rutter_nb.to_parquet(frames.jobs, tmp_path / "jobs.parquet")
        objects: list[Any] = [client, client.settings, batch, batch.bucket, receiver, job, *caught]
        objects += [*batch.jobs, *batch.rejected, *reqs]
        objects += [JobView(job), BatchBoard(batch), rutter_nb.jobs_frame(batch)]
        for obj in objects:
            produced.append((type(obj).__name__, _render(obj)))
        for name, frame in [("jobs", frames.jobs), ("errors", frames.errors)]:
            produced.append(
                (
                    f"{name} frame",
                    frame.to_string() + frame.to_csv() + frame.to_json(date_format="iso"),
                )
            )
        produced.append(("journal", journal.read_text()))
        produced.append(("parquet", (tmp_path / "jobs.parquet").read_bytes().decode("latin-1")))
        produced.append(("job tokens", "".join(j.to_token() for j in batch.jobs)))
    assert batch.rejected and any(j.status == "failure" for j in batch.jobs)  # errors were made

    notebook = _run_notebook(sb, tmp_path, monkeypatch)
    produced.append(("executed notebook", notebook.read_text()))
    produced.append(("log records", "\n".join(_format(r) for r in caplog.records)))
    out, err = capfd.readouterr()
    produced.append(("stdout/stderr", out + err))
    db = tmp_path / "canary.sqlite3"
    for path in sorted(tmp_path.glob("canary.sqlite3*")):
        produced.append((path.name, path.read_bytes().decode("latin-1")))
    assert db.exists() and receiver.rejected == 2
    assert any("rejected" in r.getMessage() for r in caplog.records if "webhooks" in r.name)

    leaks = [(source, c) for source, text in produced for c in CANARIES if c in text]
    assert leaks == []
    record(
        Row(
            "8 secrets (canary scan)",
            requests=sb.stats()["requests_total"],
            lost=0,
            duplicated=0,
            leaked=len(leaks),
            server_errors=0,
            notes=f"{len(produced)} artefacts: reprs, HTML, logs ({len(caplog.records)} "
            "records), errors, frames, parquet, journal, tokens, notebook, DB",
        )
    )


def _format(rec: logging.LogRecord) -> str:
    text = logging.Formatter("%(name)s %(levelname)s %(message)s").format(rec)
    return text + repr(rec.args) + repr(getattr(rec, "__dict__", {}))
