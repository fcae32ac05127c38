"""The main demo (`make demo`): one async invoice narrated, then the notebooks run headless.

Run it with ``python -m rutter_nb.demo``. It needs no credentials: everything goes to the
embedded sandbox. Executed notebooks are written as HTML (widget state included) under
``build/demo/``.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import rutter_nb as rn

NOTEBOOKS = ("01_quickstart.ipynb", "04_batches.ipynb")
DEMO_BATCH_SIZE = (
    "200"  # 04_batches reads RUTTER_NB_BATCH_SIZE; the notebook's own default is 1,000
)


def _section(title: str) -> None:
    print(f"\n== {title}")


def tell_one_job(client: rn.Client) -> rn.Job:
    """Create one invoice with response_mode=async and narrate what happens on the wire."""
    customers = client.send(rn.request("GET", "/accounting/customers", query={"limit": 1}))
    customer_id = customers.result["customers"][0]["id"]
    draft = rn.invoice(
        customer_id=customer_id,
        issue_date=dt.date.today(),
        currency_code="USD",
        line_items=[{"description": "rutter_nb demo", "total_amount": 1250}],
    )
    _section("1. The request, exactly as it will be sent (secrets masked)")
    print(repr(draft.with_response_mode("async")))

    seen: list[tuple[float, str]] = []
    started = time.monotonic()
    job = client.send(draft, response_mode="async")
    seen.append((time.monotonic() - started, job.status))
    job.on_change(lambda j: seen.append((time.monotonic() - started, j.status)))

    _section("2. Rutter's reply: an async_response, at once")
    reply = {"id": job.id, "response_url": f"{client.base_url}/jobs/{job.id}", "status": seen[0][1]}
    print(json.dumps({"async_response": reply}, indent=2))

    _section("3. Following the job with GET /jobs/:id")
    job.wait(timeout=120)
    path, last = [], None
    for at, status in seen:
        if status != last:
            path.append(f"{status} ({at:.2f} s)")
            last = status
    print(" -> ".join(path))
    print(f"{job.polls} polls, {job.duration:.2f} s from submit to result")

    _section("4. The finished job (AsynchronousJob, plus what the client recorded)")
    print(json.dumps(job.to_dict(), indent=2, default=str))
    return job


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _summaries(nb: Any) -> list[str]:
    """The plain-text results of the cells tagged ``summary``: what a reader should notice."""
    texts = []
    for cell in nb.cells:
        if "summary" in cell.get("metadata", {}).get("tags", []):
            for out in cell.get("outputs", []):
                text = out.get("text") or out.get("data", {}).get("text/plain")
                if text:
                    texts.append(str(text).rstrip())
    return texts


def _static_views(nb: Any) -> Any:
    """A copy whose widget outputs show their final HTML snapshot.

    nbconvert's HTML draws a widget view with JavaScript fetched from a CDN, which an offline
    reader (or this machine) cannot load; every rutter_nb view carries a ``text/html``
    snapshot of its final state, so the HTML file shows that instead. The ``.ipynb`` written
    beside it keeps the live widget state.
    """
    static = copy.deepcopy(nb)
    for cell in static.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data and "text/html" in data:
                del data[WIDGET_VIEW]
    return static


def run_notebooks(names: Sequence[str], out_dir: Path) -> list[dict[str, Any]]:
    """Execute notebooks with nbclient (widget state stored); write them as .ipynb and HTML."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    out_dir.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parent.parent / "notebooks"
    os.environ.setdefault("RUTTER_NB_BATCH_SIZE", DEMO_BATCH_SIZE)
    summaries = []
    for name in names:
        path = root / name
        nb = nbformat.read(path, as_version=4)
        started = time.monotonic()
        runner = NotebookClient(
            nb,
            timeout=300,
            store_widget_state=True,
            # ipykernel warns that its loopback TCP is unencrypted; the demo output stays clean
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
            resources={"metadata": {"path": str(root)}},
        )
        runner.execute()
        elapsed = time.monotonic() - started
        nbformat.write(nb, out_dir / name)
        html, _ = HTMLExporter().from_notebook_node(_static_views(nb))
        target = out_dir / (path.stem + ".html")
        target.write_text(html, encoding="utf-8")
        cells = sum(1 for c in nb.cells if c.cell_type == "code")
        summaries.append({"notebook": name, "cells": cells, "seconds": round(elapsed, 1)})
        print(f"\n{name}: {cells} code cells ran in {elapsed:.1f} s -> {target}")
        for text in _summaries(nb):
            print(textwrap.indent(text, "    "))
    return summaries


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rutter_nb.demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("build/demo"), help="where the HTML goes")
    parser.add_argument("--no-notebooks", action="store_true", help="only the narrated job")
    args = parser.parse_args(argv)

    for name in (
        "RUTTER_CLIENT_ID",
        "RUTTER_CLIENT_SECRET",
        "RUTTER_ACCESS_TOKEN",
        "RUTTER_BASE_URL",
    ):
        os.environ.pop(name, None)  # the demo always runs against the embedded sandbox
    with rn.connect() as client:
        tell_one_job(client)
    if not args.no_notebooks:
        _section("5. The notebooks, executed headless against the embedded sandbox")
        run_notebooks(NOTEBOOKS, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
