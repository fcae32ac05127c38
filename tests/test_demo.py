"""`make demo`'s narrated part: one async invoice followed to success, secrets masked."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_narrates_an_async_job_to_success() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUTTER_")}
    proc = subprocess.run(
        [sys.executable, "-m", "rutter_nb.demo", "--no-notebooks"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "using the embedded sandbox" in out
    assert '"async_response"' in out
    assert "-> success" in out
    assert "Authorization: Basic ***" in out
    assert "access_token=***" in out
    # The sandbox's demo secret never shows, in any form.
    from rutter_nb.sandbox import Sandbox

    assert Sandbox().client_secret not in out
    assert Sandbox().access_token not in out


def test_html_export_shows_the_final_snapshot_of_widget_outputs() -> None:
    import nbformat

    from rutter_nb.demo import WIDGET_VIEW, _static_views, _summaries

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("board", metadata={"tags": ["summary"]})
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={WIDGET_VIEW: {"model_id": "m"}, "text/html": "<b>30/30</b>", "text/plain": "30"},
        )
    ]
    nb.cells.append(cell)
    static = _static_views(nb)
    assert WIDGET_VIEW not in static.cells[0].outputs[0].data
    assert WIDGET_VIEW in nb.cells[0].outputs[0].data  # the executed notebook keeps live state
    assert _summaries(nb) == ["30"]
