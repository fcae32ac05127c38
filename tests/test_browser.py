"""A real browser: JupyterLab on 127.0.0.1, Debian's chromium driven by Playwright.

A notebook sends 200 async jobs to the sandbox and watches a BatchBoard; the page must
show the board moving (intermediate counts) and then the final counts. Screenshots go to
build/test-artifacts/browser/ (git-ignored) and their paths are printed.
Chromium is never downloaded: Playwright launches /usr/bin/chromium (``apt-get install
chromium``). With RUTTER_NB_REQUIRE_BROWSER=1 (CI) a missing chromium fails the test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "build" / "test-artifacts" / "browser"
JOBS = 200
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("RUTTER_NB_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; RUTTER_NB_REQUIRE_BROWSER=1 forbids skipping")
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """JupyterLab serving ``tmp_path/notebooks`` with fresh config, settings and workspaces."""
    root = tmp_path / "notebooks"
    root.mkdir()
    dirs = {name: tmp_path / name for name in ("config", "runtime", "ws", "settings", "ipython")}
    for d in dirs.values():
        d.mkdir()
    # No "get Jupyter news?" toast over the screenshots.
    notification = dirs["settings"] / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        IPYTHONDIR=str(dirs["ipython"]),
        JUPYTER_PLATFORM_DIRS="1",
    )
    port = free_port()
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.workspaces_dir={dirs['ws']}",
            f"--LabApp.user_settings_dir={dirs['settings']}",
            "--ServerApp.allow_root=True",  # CI containers run as root
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/api/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not start within 60 s"
            time.sleep(0.3)
        yield url, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return k && k.status === 'idle';
}"""


def open_notebook(browser: Any, url: str, name: str) -> Any:
    """A page showing notebook ``name`` in JupyterLab, its kernel started and idle."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/lab/tree/{name}", timeout=60_000)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    return page


def board_notebook(sb: Any) -> Any:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell(
            f"""import rutter_nb
client = rutter_nb.Client(
    base_url={sb.base_url!r}, client_id={sb.client_id!r},
    client_secret={sb.client_secret!r}, access_token={sb.access_token!r},
)
customers = client.send(rutter_nb.request("GET", "/accounting/customers", query={{"limit": 1}}))
request = rutter_nb.invoice(
    customer_id=customers.result["customers"][0]["id"], issue_date="2024-01-01",
    currency_code="USD", line_items=[{{"total_amount": 10}}],
)"""
        ),
        nbformat.v4.new_code_cell(
            f"""jobs = []
board = rutter_nb.BatchBoard(jobs, total={JOBS})
watch = board.watch()
for _ in range({JOBS}):
    jobs.append(client.send(request, response_mode="async"))"""
        ),
    ]
    return nb


READ_BOARD = """() => {
  const el = document.querySelector('.jp-OutputArea .rutter-board-summary');
  if (!el) return null;
  const d = el.dataset;
  return {done: +d.done, total: +d.total, finished: d.finished === 'true',
          success: +d.countSuccess, failure: +d.countFailure,
          pending: +d.countPending, prequeued: +d.countPrequeued,
          rows: document.querySelectorAll('.rutter-board-rows option').length};
}"""


def test_board_moves_then_shows_final_counts_in_jupyterlab(
    lab: tuple[str, Path], sandbox_factory: Any
) -> None:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    url, root = lab
    sb = sandbox_factory(job_duration=(2.0, 6.0), seed=5)
    nbformat.write(board_notebook(sb), root / "board.ipynb")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = open_notebook(browser, url, "board.ipynb")
            # Fire and forget: awaiting would only resolve when the cells finished.
            page.evaluate(
                "() => { void window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
            )
            seen: list[dict[str, Any]] = []
            intermediate_shot = None
            deadline = time.monotonic() + 80
            while time.monotonic() < deadline:
                state = page.evaluate(READ_BOARD)
                if state is not None:
                    if not seen or state != seen[-1]:
                        seen.append(state)
                    if intermediate_shot is None and 0 < state["done"] < JOBS:
                        intermediate_shot = ARTIFACTS / "board-intermediate.png"
                        page.screenshot(path=str(intermediate_shot), full_page=True)
                    if state["finished"]:
                        break
                time.sleep(0.2)
            final_shot = ARTIFACTS / "board-final.png"
            page.screenshot(path=str(final_shot), full_page=True)
            # Click the first row (the kernel is idle now): that job's view opens below.
            page.locator(".rutter-board-rows select").select_option(index=0)
            opened = page.wait_for_selector(
                ".rutter-board .rutter-job-view .rutter-job-header", timeout=30_000
            )
            assert opened is not None
            opened_status = opened.get_attribute("data-status")
            opened_shot = ARTIFACTS / "board-row-opened.png"
            page.screenshot(path=str(opened_shot), full_page=True)
        finally:
            browser.close()

    print(f"\nscreenshots: {intermediate_shot} {final_shot} {opened_shot}")
    print(f"board states seen in the page: {len(seen)}; done counts: {[s['done'] for s in seen]}")
    assert seen, "the board never appeared in the page"
    intermediate = {s["done"] for s in seen if 0 < s["done"] < JOBS}
    assert len(intermediate) >= 2, f"the board did not move in the page: {seen}"
    final = seen[-1]
    assert final["finished"] and final["done"] == final["total"] == JOBS, final
    assert final["success"] + final["failure"] == JOBS, final
    assert final["pending"] == final["prequeued"] == 0
    assert final["rows"] > 0
    assert final_shot.stat().st_size > 10_000
    assert opened_status in ("success", "failure")


def test_a_missing_chromium_fails_when_ci_requires_the_browser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("RUTTER_NB_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="forbids skipping"):
        chromium_path()
    monkeypatch.delenv("RUTTER_NB_REQUIRE_BROWSER")
    with pytest.raises(pytest.skip.Exception):
        chromium_path()


def test_quickstart_runs_in_jupyterlab_and_renders_job_views_and_frames(
    lab: tuple[str, Path],
) -> None:
    """01_quickstart, as a user opens it: run all cells; job views and DataFrames render."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    url, root = lab
    shutil.copy(ROOT / "notebooks" / "01_quickstart.ipynb", root / "01_quickstart.ipynb")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = open_notebook(browser, url, "01_quickstart.ipynb")
            # Resolves when every cell has run.
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_selector(".jp-OutputArea table.dataframe", timeout=60_000)
            page.wait_for_selector(
                ".rutter-job-view .rutter-job-header[data-status='success']", timeout=60_000
            )
            statuses = page.eval_on_selector_all(
                ".rutter-job-view .rutter-job-header", "els => els.map(e => e.dataset.status)"
            )
            frames = page.locator(".jp-OutputArea table.dataframe").count()
            errors = page.locator(
                "[data-mime-type='application/vnd.jupyter.stderr']"
            ).all_inner_texts()
            page.locator(".rutter-job-view").first.scroll_into_view_if_needed()
            shot = ARTIFACTS / "quickstart.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    print(f"\nscreenshot: {shot}; job views: {statuses}; DataFrames: {frames}")
    assert len(statuses) >= 2 and all(s == "success" for s in statuses), statuses
    assert frames >= 2
    assert not [e for e in errors if "Traceback" in e], errors
