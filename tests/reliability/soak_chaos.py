"""Soak: scenario 2 for ten minutes, with memory and open file descriptors kept flat.

Not collected by ``make test`` (the file name does not start with ``test_``); run by
``make reliability SOAK=1``. ``RUTTER_NB_SOAK_SECONDS`` shortens it for a trial run.
The sandbox runs in its own process so that its memory and descriptors are its own.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from .chaos import FAULTS, run_chaos
from .remote import Remote, ServerProcess, free_port
from .support import Row, record

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

ROUND = 100  # invoices per batch


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    flags = ["--job-duration", "0.05:0.3", "--rate-limit", "30/2", "--seed", "9"]
    for kind, p in FAULTS.items():
        flags += ["--fault", f"{kind}={p}"]
    srv = ServerProcess(tmp_path / "soak.sqlite3", free_port(), flags)
    srv.start()
    yield srv
    srv.stop()


def _sample(proc: psutil.Process) -> tuple[float, int]:
    """(resident memory in MiB, open file descriptors)."""
    return proc.memory_info().rss / 2**20, proc.num_fds()


def test_soak_keeps_memory_and_descriptors_flat(server: ServerProcess) -> None:
    seconds = float(os.environ.get("RUTTER_NB_SOAK_SECONDS", "600"))
    remote = Remote(server.port)
    httpx.post(
        remote.url + "/_sandbox/config",
        json={"slow_seconds": 1.0},
        auth=(remote.client_id, remote.client_secret),
        timeout=30,
    ).raise_for_status()
    assert server.proc is not None
    me, sandbox = psutil.Process(), psutil.Process(server.proc.pid)
    client_samples, server_samples = [], []
    lost = duplicated = requests = rounds = throttled = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        jobs_before = rounds * ROUND
        out = run_chaos(remote, ROUND, f"SOAK{rounds}", jobs_before=jobs_before)
        assert out.batch.rejected == [] and out.lost == 0 and out.duplicated == 0
        lost, duplicated = lost + out.lost, duplicated + out.duplicated
        requests += out.batch.stats()["requests"]
        throttled += out.batch.stats()["throttled"]
        rounds += 1
        client_samples.append(_sample(me))
        server_samples.append(_sample(sandbox))
    assert rounds >= 3
    faults = out.stats["faults"]
    assert set(faults) == set(FAULTS) and out.server_errors > 0  # the chaos really happened

    def flat(samples: list[tuple[float, int]], name: str) -> str:
        third = max(1, len(samples) // 3)
        early, late = samples[1 : 1 + third] or samples[:1], samples[-third:]
        rss_early = statistics.median(s[0] for s in early)
        rss_late = statistics.median(s[0] for s in late)
        fds_early, fds_late = max(s[1] for s in early), max(s[1] for s in late)
        # flat: no steady growth beyond allocator noise, no descriptor leak
        assert rss_late <= rss_early * 1.15 + 20, (name, samples)
        assert fds_late <= fds_early + 4, (name, samples)
        return f"{name} RSS {rss_early:.0f}->{rss_late:.0f} MiB, fds {fds_early}->{fds_late}"

    notes = f"{rounds} batches of {ROUND} in {time.monotonic() - started:.0f} s; " + "; ".join(
        [flat(client_samples, "client"), flat(server_samples, "sandbox")]
    )
    notes += f"; {throttled} x 429; faults " + ", ".join(
        f"{k} {v}" for k, v in sorted(faults.items())
    )
    errors_5xx = out.server_errors  # cumulative at the server: the injected faults
    record(Row("2s soak (chaos, repeated)", requests, lost, duplicated, 0, errors_5xx, notes))
