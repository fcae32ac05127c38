"""Sending many invoices: naive loops against ``send_many``, under Rutter's rate limit.

Each scenario gets a fresh sandbox in its own process (``rutter-nb sandbox``), with the same
settings: 500 requests per 10 s for the organisation (every request counts, polls too), jobs
of 0.5 to 2 s, the platform paced at the sandbox default (60 writes/s per connection).

    (a) naive loop of blocking prefer_sync POSTs with httpx, one after the other
    (b) naive loop of async POSTs with httpx, each job polled every second until done
    (c) send_many, async + polling         (c') send_many, prefer_sync
    (d) send_many, async + webhooks

Figures: wall time, wall time over the lower bound (N / rate limit + the longest job),
HTTP requests per job and 429s (from ``/_sandbox/stats``), duplicates (invoices sharing a
document number). The naive loops run a smaller N; compare their per-job figures.

    python benchmarks/bench_batch.py [--n 2000] [--naive-n 40]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import rutter_nb
from rutter_nb.webhooks import Receiver

CLIENT_ID, SECRET, TOKEN = "sandbox-client-id", "sandbox-client-secret", "sandbox-access-token"
RATE = (500, 10.0)
LONGEST_JOB = 2.0
HEADERS = {"X-Rutter-Version": "2024-08-31"}


@dataclass
class Sandbox:
    url: str

    @property
    def base_url(self) -> str:
        return self.url + "/versioned"

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, auth=(CLIENT_ID, SECRET), headers=HEADERS, timeout=60
        )

    def stats(self) -> dict[str, Any]:
        with self.http() as http:
            data: dict[str, Any] = http.get(self.url + "/_sandbox/stats").json()
        return data


@contextmanager
def sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox process with the benchmark's settings."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "rutter_nb.cli",
            "sandbox",
            f"--db={Path(tmp) / 'bench.sqlite3'}",
            f"--rate-limit={RATE[0]}/{RATE[1]:g}",
            f"--job-duration=0.5:{LONGEST_JOB:g}",
        ]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            yield Sandbox(server.stdout.readline().rsplit(" ", 1)[-1].strip())
        finally:
            server.terminate()
            server.wait(timeout=30)


def api_requests(stats: dict[str, Any]) -> int:
    """Requests on /versioned routes: what Rutter's limit counts."""
    return sum(sum(c.values()) for r, c in stats["requests"].items() if " /versioned/" in r)


def invoice_body(customer: str, number: str) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "issue_date": "2024-08-01",
        "currency_code": "USD",
        "document_number": number,
        "line_items": [{"total_amount": 10, "description": "bench"}],
    }


def customer_of(sb: Sandbox) -> str:
    with sb.http() as http:
        reply = http.get("/accounting/customers", params={"access_token": TOKEN})
    return str(reply.json()["customers"][0]["id"])


def duplicates(sb: Sandbox, prefix: str) -> tuple[int, int]:
    """(distinct document numbers with the prefix, invoices beyond one per number)."""
    seen: Counter[str] = Counter()
    cursor = None
    with sb.http() as http:
        while True:
            params = {"access_token": TOKEN, "limit": 500} | ({"cursor": cursor} if cursor else {})
            page = http.get("/accounting/invoices", params=params).json()
            seen.update(
                i["document_number"]
                for i in page["invoices"]
                if str(i.get("document_number", "")).startswith(prefix)
            )
            cursor = page.get("next_cursor")
            if not cursor:
                return len(seen), sum(n - 1 for n in seen.values())


# -- the scenarios: each sends n invoices numbered PREFIX-i and returns when all are done --


def naive_prefer_sync(sb: Sandbox, customer: str, n: int) -> None:
    with sb.http() as http:
        for i in range(n):
            body = {"response_mode": "prefer_sync", "invoice": invoice_body(customer, f"B-{i}")}
            reply = http.post("/accounting/invoices", params={"access_token": TOKEN}, json=body)
            reply.raise_for_status()


def naive_async_poll(sb: Sandbox, customer: str, n: int) -> None:
    with sb.http() as http:
        for i in range(n):
            body = {"response_mode": "async", "invoice": invoice_body(customer, f"B-{i}")}
            reply = http.post("/accounting/invoices", params={"access_token": TOKEN}, json=body)
            reply.raise_for_status()
            job_id = reply.json()["async_response"]["id"]
            while True:
                time.sleep(1.0)
                status = http.get(f"/jobs/{job_id}").json()["status"]
                if status in ("success", "failure", "partial_success"):
                    break


def _send_many(mode: str, webhooks: bool) -> Callable[[Sandbox, str, int], dict[str, Any]]:
    def run(sb: Sandbox, customer: str, n: int) -> dict[str, Any]:
        client = rutter_nb.Client(
            sb.base_url, client_id=CLIENT_ID, client_secret=SECRET, access_token=TOKEN
        )
        requests = [
            rutter_nb.invoice(
                customer_id=customer,
                issue_date="2024-08-01",
                currency_code="USD",
                document_number=f"B-{i}",
                line_items=[{"total_amount": 10, "description": "bench"}],
            )
            for i in range(n)
        ]
        with client, Receiver(SECRET) as receiver:
            batch = client.send_many(
                requests, mode, webhooks=receiver if webhooks else None, display=False
            )
            batch.wait()
        failed = [job for job in batch.jobs if not job.succeeded]
        if failed or batch.rejected or len(batch.jobs) != n:
            raise SystemExit(f"send_many({mode}) did not finish cleanly: {batch!r}")
        return batch.stats()

    return run


# (letter, name, run, naive, fewest requests a job can need in that mode)
SCENARIOS: list[tuple[str, str, Callable[..., Any], bool, int]] = [
    ("a", "naive prefer_sync loop (httpx)", naive_prefer_sync, True, 1),
    ("b", "naive async + poll every 1 s (httpx)", naive_async_poll, True, 2),
    ("c", "send_many async + polling", _send_many("async", False), False, 2),
    ("c'", "send_many prefer_sync", _send_many("prefer_sync", False), False, 1),
    ("d", "send_many async + webhooks", _send_many("async", True), False, 1),
]


def measure(run: Callable[..., Any], n: int, fewest: int) -> dict[str, Any]:
    with sandbox() as sb:
        customer = customer_of(sb)
        before = sb.stats()
        started = time.perf_counter()
        run(sb, customer, n)
        wall = time.perf_counter() - started
        after = sb.stats()
        created, dups = duplicates(sb, "B-")
    requests = api_requests(after) - api_requests(before)
    bound = n * RATE[1] / RATE[0] + LONGEST_JOB
    floor = fewest * n * RATE[1] / RATE[0] + LONGEST_JOB  # when every request counts
    return {
        "floor_ratio": wall / floor,
        "n": n,
        "wall": wall,
        "bound": bound,
        "per_job": wall / n,
        "ratio": wall / bound,
        "requests_per_job": requests / n,
        "429s": after["rate_limited"] - before["rate_limited"],
        "duplicates": dups,
        "missing": n - created,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="invoices for send_many")
    parser.add_argument("--naive-n", type=int, default=40, help="invoices for the naive loops")
    parser.add_argument("--only", default=None, help="comma-separated scenario letters")
    args = parser.parse_args()
    chosen = set(args.only.split(",")) if args.only else None
    print(
        f"rate limit {RATE[0]}/{RATE[1]:g}s (every request counted), jobs 0.5-{LONGEST_JOB:g} s, "
        "platform 60/s per connection; lower bound = N / 50 per s + longest job"
    )
    header = (
        f"{'':3} {'scenario':38} {'N':>5} {'wall s':>8} {'s/job':>6} {'bound s':>8} "
        f"{'x bound':>7} {'x floor':>7} {'req/job':>7} {'429s':>5} {'dups':>5} {'lost':>5}"
    )
    print(header)
    print("-" * len(header))
    for letter, name, run, naive, fewest in SCENARIOS:
        if chosen is not None and letter not in chosen:
            continue
        r = measure(run, args.naive_n if naive else args.n, fewest)
        print(
            f"{letter:3} {name:38} {r['n']:>5} {r['wall']:>8.1f} {r['per_job']:>6.3f} "
            f"{r['bound']:>8.1f} {r['ratio']:>7.2f} {r['floor_ratio']:>7.2f} "
            f"{r['requests_per_job']:>7.3f} "
            f"{r['429s']:>5} {r['duplicates']:>5} {r['missing']:>5}",
            flush=True,
        )
    print(
        "x floor: against the mode's own floor, k * N / 50 per s + longest job, where k is the "
        "fewest requests a job can need: every request counts against the limit, so async + "
        "polling needs a submit and at least one poll (k = 2)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
