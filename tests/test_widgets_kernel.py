"""A real kernel: watch() keeps drawing after its cell ends and while another cell blocks;
the saved notebook holds the final snapshot; a kernel interrupt stops the watches.

The sandbox runs in the test process; the notebook talks to it over real HTTP.
"""

from __future__ import annotations

import queue
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from rutter_nb.sandbox import Sandbox

pytestmark = pytest.mark.kernel

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def setup_code(sb: Sandbox) -> str:
    return f"""
import time
import rutter_nb
client = rutter_nb.Client(
    base_url={sb.base_url!r}, client_id={sb.client_id!r},
    client_secret={sb.client_secret!r}, access_token={sb.access_token!r},
)
customers = client.send(rutter_nb.request("GET", "/accounting/customers", query={{"limit": 1}}))
request = rutter_nb.invoice(
    customer_id=customers.result["customers"][0]["id"], issue_date="2024-01-01",
    currency_code="USD", line_items=[{{"total_amount": 10}}],
)
"""


class RecordingClient(NotebookClient):
    """Remembers, per cell, every kernel message nbclient processed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[int, str, dict[str, Any]]] = []

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        self.seen.append((cell_index, msg["msg_type"], msg["content"]))
        return super().process_message(msg, cell, cell_index)


def widget_updates(seen: list[tuple[int, str, dict[str, Any]]], cell: int) -> list[dict[str, Any]]:
    return [
        content["data"]["state"]
        for index, kind, content in seen
        if index == cell and kind == "comm_msg" and content["data"].get("method") == "update"
    ]


def test_watch_draws_while_another_cell_blocks_and_saves_the_final_state(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sb = sandbox_factory(job_duration=(4.0, 4.0), seed=3)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(setup_code(sb)),
        nbformat.v4.new_code_cell(
            'job = client.send(request, response_mode="async")\nw = job.watch()'
        ),
        nbformat.v4.new_code_cell("time.sleep(2.5)  # another cell blocks the kernel"),
        nbformat.v4.new_code_cell("assert w.wait(60)\nprint(job.status, w.done)"),
    ]
    client = RecordingClient(nb, timeout=120, kernel_name="python3", resources={})

    client.execute()
    path = tmp_path / "watched.ipynb"
    nbformat.write(nb, path)

    # Updates (elapsed time, poll count) arrived while cell 2 blocked: cell 1 had finished.
    during_block = widget_updates(client.seen, 2)
    print(f"\nwidget updates while cell 2 blocked: {len(during_block)}")
    assert len(during_block) >= 2, client.seen
    assert any("rutter-job-header" in s.get("value", "") for s in during_block)
    assert nb.cells[3].outputs[0]["text"].strip() == "success True"
    # The saved file shows the final state without any widget front end.
    saved = nbformat.read(path, as_version=4)
    (output,) = saved.cells[1].outputs
    assert output["output_type"] == "display_data"
    assert set(output["data"]) >= {WIDGET_MIME, "text/html", "text/plain"}
    assert 'data-status="success"' in output["data"]["text/html"]
    assert "success" in output["data"]["text/plain"] and "HTTP 200" in output["data"]["text/plain"]
    assert sb.client_secret not in path.read_text().replace(repr(sb.client_secret), "")


def run(kc: Any, code: str, timeout: float = 60) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Execute ``code``; return the iopub messages of that request and the reply."""
    msg_id = kc.execute(code)
    reply = kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=timeout)
    msgs: list[dict[str, Any]] = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        msgs.append(msg)
        if (
            msg["parent_header"].get("msg_id") == msg_id
            and msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "idle"
        ):
            return msgs, reply["content"]


def drain(kc: Any, seconds: float) -> list[dict[str, Any]]:
    """Collect what the kernel publishes for ``seconds`` while no cell runs."""
    msgs, end = [], time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            msgs.append(kc.get_iopub_msg(timeout=left))
        except queue.Empty:
            break
    return msgs


def test_updates_arrive_while_idle_and_an_interrupt_stops_the_watches(
    sandbox_factory: Any,
) -> None:
    sb = sandbox_factory(job_duration=(30.0, 30.0), seed=4)
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        _, reply = run(kc, setup_code(sb))
        assert reply["status"] == "ok", reply
        _, reply = run(
            kc,
            "jobs = [client.send(request, response_mode='async') for _ in range(3)]\n"
            "board = rutter_nb.BatchBoard(jobs)\nw = board.watch()\nwj = jobs[0].watch()",
        )
        assert reply["status"] == "ok", reply

        idle = drain(kc, 2.5)  # the starting cell is over; nothing runs
        updates = [m for m in idle if m["msg_type"] == "comm_msg"]
        assert len(updates) >= 2  # the elapsed time ticks and polls are counted

        msg_id = kc.execute("time.sleep(60)")
        time.sleep(1.0)
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=30)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=30)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"

        _, reply = run(
            kc,
            "from rutter_nb.widgets import active_watches\n"
            "polls = [j.polls for j in jobs]\ntime.sleep(1.0)\n"
            "assert w.stopped and wj.stopped and active_watches() == [], active_watches()\n"
            "assert [j.polls for j in jobs] == polls, (polls, [j.polls for j in jobs])\n"
            "assert not any(j.done for j in jobs)",
        )
        assert reply["status"] == "ok", reply
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
