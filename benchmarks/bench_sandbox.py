"""Sandbox throughput: async invoice POSTs, then job GETs, over real HTTP.

The server runs in its own process (`rutter-nb sandbox`), so the load generator does
not share its GIL. Limits are raised so that the numbers measure the server itself.

    python benchmarks/bench_sandbox.py [--jobs 2000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

AUTH = ("sandbox-client-id", "sandbox-client-secret")
TOKEN = "sandbox-access-token"


def _cpu_seconds(pid: int) -> float | None:
    """User+system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _run(url: str, jobs: int, concurrency: int, pid: int | None = None) -> None:
    async with httpx.AsyncClient(
        base_url=url + "/versioned",
        auth=AUTH,
        headers={"X-Rutter-Version": "2024-08-31"},
        params={"access_token": TOKEN},
        limits=httpx.Limits(max_connections=concurrency),
        timeout=60,
    ) as http:
        customer = (await http.get("/accounting/customers")).json()["customers"][0]["id"]
        body = {
            "response_mode": "async",
            "invoice": {
                "customer_id": customer,
                "issue_date": "2024-08-01",
                "currency_code": "USD",
                "line_items": [{"total_amount": 10}],
            },
        }
        gate = asyncio.Semaphore(concurrency)

        async def post(n: int) -> str:
            async with gate:
                headers = {"Idempotency-Key": f"bench-{n}"}
                reply = await http.post("/accounting/invoices", json=body, headers=headers)
                reply.raise_for_status()
                return str(reply.json()["async_response"]["id"])

        async def get(job_id: str) -> str:
            async with gate:
                return str((await http.get(f"/jobs/{job_id}")).json()["status"])

        cpu_before = _cpu_seconds(pid) if pid else None
        started = time.perf_counter()
        ids = await asyncio.gather(*(post(n) for n in range(jobs)))
        posted = time.perf_counter() - started
        print(f"POST async  : {jobs} in {posted:.2f} s = {jobs / posted:.0f} req/s")
        started = time.perf_counter()
        rounds = 0
        while True:
            rounds += 1
            statuses = await asyncio.gather(*(get(i) for i in ids))
            if all(s in ("success", "failure") for s in statuses):
                break
            await asyncio.sleep(0.2)
        polled = time.perf_counter() - started
        print(
            f"GET jobs    : {rounds * jobs} in {polled:.2f} s = {rounds * jobs / polled:.0f} req/s"
        )
        stats = (await http.get(url + "/_sandbox/stats")).json()
        print(f"jobs        : {stats['jobs']}")
        cpu_after = _cpu_seconds(pid) if pid else None
        if cpu_before is not None and cpu_after is not None:
            requests = stats["requests_total"]
            per = (cpu_after - cpu_before) / requests
            print(
                f"server CPU  : {per * 1000:.2f} ms per request over {requests} requests "
                f"(~{1 / per:.0f} req/s per core)"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "rutter_nb.cli",
            "sandbox",
            f"--db={Path(tmp) / 'bench.sqlite3'}",
            "--rate-limit=1000000/1",
            "--platform-rate=1000000/1",
            "--job-duration=0.05:0.2",
        ]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            url = server.stdout.readline().rsplit(" ", 1)[-1].strip()
            asyncio.run(_run(url, args.jobs, args.concurrency, server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
