"""Blocking waits in a real Jupyter kernel (its asyncio loop running) and in plain scripts,
and Ctrl-C / kernel interrupt stopping a wait promptly with the job left resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

import rutter_nb
from rutter_nb.sandbox import Sandbox


def _env(sb: Sandbox) -> dict[str, str]:
    """Credentials reach the child through the environment, never through its code."""
    env = dict(os.environ)
    env.update(
        RUTTER_BASE_URL=sb.base_url,
        RUTTER_CLIENT_ID=sb.client_id,
        RUTTER_CLIENT_SECRET=sb.client_secret,
        RUTTER_ACCESS_TOKEN=sb.access_token,
    )
    return env


def _outputs(nb: Any) -> list[dict[str, Any]]:
    """JSON lines printed by the notebook's cells."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                found += [
                    json.loads(line) for line in out["text"].splitlines() if line.startswith("{")
                ]
    return found


KERNEL_CELLS = [
    """
    import asyncio, json, rutter_nb
    loop = asyncio.get_running_loop()            # the kernel's own loop is running
    try:
        asyncio.run(asyncio.sleep(0))
        nested_run = "worked"
    except RuntimeError as exc:
        nested_run = "refused"
    print(json.dumps({"loop_running": loop.is_running(), "asyncio_run": nested_run}))
    """,
    """
    client = rutter_nb.Client()                  # settings from RUTTER_* variables
    job = client.send(rutter_nb.customer(customer_name="Kernel"), "async")
    job.wait(timeout=60)
    print(json.dumps({"case": "sync client", "status": job.status, "polls": job.polls}))
    """,
    """
    aclient = rutter_nb.AsyncClient()
    ajob = await aclient.send(rutter_nb.item(name="Kernel"), "async")
    ajob.wait(timeout=60)                        # blocking wait on an async client's job
    bjob = await aclient.send(rutter_nb.item(name="Kernel 2"), "async")
    await bjob.wait_async(timeout=60)
    print(json.dumps({"case": "async client", "status": [ajob.status, bjob.status]}))
    """,
]


@pytest.mark.kernel
def test_wait_works_in_a_running_kernel(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _env(sandbox).items():
        if key.startswith("RUTTER_"):
            monkeypatch.setenv(key, value)  # the kernel inherits the environment
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in KERNEL_CELLS]
    )
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    env, sync_case, async_case = _outputs(nb)
    assert env == {"loop_running": True, "asyncio_run": "refused"}
    assert sync_case["status"] == "success" and sync_case["polls"] >= 1
    assert async_case["status"] == ["success", "success"]


@pytest.fixture
def kernel(sandbox: Sandbox) -> Iterator[tuple[KernelManager, Any]]:
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=_env(sandbox))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _run(kc: Any, code: str) -> tuple[dict[str, Any], list[str]]:
    printed: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    reply = kc.execute_interactive(textwrap.dedent(code), timeout=60, output_hook=hook)
    return reply["content"], printed


@pytest.mark.kernel
def test_kernel_interrupt_stops_wait_and_job_stays_resumable(
    kernel: tuple[KernelManager, Any], sandbox: Sandbox
) -> None:
    km, kc = kernel
    setup, _ = _run(
        kc,
        """
        import rutter_nb
        client = rutter_nb.Client()
        slow = rutter_nb.vendor(vendor_name="Slow").with_headers(X_Sandbox_Job_Duration="120")
        job = client.send(slow, "async")
        """,
    )
    assert setup["status"] == "ok", setup
    msg_id = kc.execute("job.wait(timeout=None)")
    time.sleep(1.5)  # let the wait start polling
    started = time.monotonic()
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=30)
    elapsed = time.monotonic() - started
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert elapsed < 5.0, elapsed  # the bar is one second; generous for a shared machine
    after, printed = _run(
        kc,
        """
        print(job.status, job.done, client.resume(job.to_token()).status)
        """,
    )
    assert after["status"] == "ok", after
    status, done, resumed = "".join(printed).split()
    assert status in ("prequeued", "pending") and done == "False"
    assert resumed in ("prequeued", "pending")


SCRIPT_WAIT = """
import rutter_nb
client = rutter_nb.Client()
job = client.send(rutter_nb.customer(customer_name="Script"), "async")
job.on_change(lambda j: 1 / 0)  # logged at ERROR by rutter_nb: must still print nothing
print(job.wait(timeout=60).status, job.polls > 0, flush=True)
"""

SCRIPT_INTERRUPT = """
import rutter_nb
client = rutter_nb.Client()
slow = rutter_nb.vendor(vendor_name="Slow").with_headers(X_Sandbox_Job_Duration="120")
job = client.send(slow, "async")
print("waiting", flush=True)
try:
    job.wait(timeout=None)
except KeyboardInterrupt:
    print("token", job.to_token(), flush=True)
    raise
"""


def test_wait_in_a_plain_script_is_silent(sandbox: Sandbox) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT_WAIT],
        env=_env(sandbox),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["success", "True"]
    assert done.stderr == ""  # logging is silent by default


def test_ctrl_c_stops_a_script_wait_and_the_job_resumes(sandbox: Sandbox) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT_INTERRUPT],
        env=_env(sandbox),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "waiting"
        time.sleep(1.0)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert elapsed < 5.0, elapsed  # the bar is one second; generous for a shared machine
    token = out.split("token ", 1)[1].strip()
    assert sandbox.client_secret not in token and sandbox.access_token not in token
    with rutter_nb.Client(
        sandbox.base_url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        access_token=sandbox.access_token,
    ) as client:
        assert client.resume(token).status in ("prequeued", "pending")
