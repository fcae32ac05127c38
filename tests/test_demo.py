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
