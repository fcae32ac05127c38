"""Helpers shared by the batch tests: a client for a sandbox, invoices, counting entities."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

import rutter_nb
from rutter_nb.polling import PollPolicy
from rutter_nb.retry import RetryPolicy
from rutter_nb.sandbox import Sandbox

POLL = PollPolicy(initial=0.05, factor=1.5, max_interval=0.5, timeout=60.0)
RETRY = RetryPolicy(max_retries=4, base_delay=0.05, max_retry_after=3.0)


def client_for(sb: Sandbox, **kw: Any) -> rutter_nb.Client:
    kw.setdefault("poll", POLL)
    kw.setdefault("retry", RETRY)
    return rutter_nb.Client(
        sb.base_url,
        client_id=sb.client_id,
        client_secret=sb.client_secret,
        access_token=sb.access_token,
        **kw,
    )


def customer_id(sb: Sandbox) -> str:
    with client_for(sb) as client:
        page = client.send(rutter_nb.request("GET", "/accounting/customers")).result
    return str(page["customers"][0]["id"])


def invoices(customer: str, n: int, prefix: str, **kw: Any) -> list[rutter_nb.ApiRequest]:
    return [
        rutter_nb.invoice(
            customer_id=customer,
            issue_date="2024-05-01",
            currency_code="USD",
            line_items=[{"total_amount": 100 + i, "description": "consulting"}],
            document_number=f"{prefix}-{i}",
            **kw,
        )
        for i in range(n)
    ]


def document_numbers(sb: Sandbox, prefix: str) -> Counter[str]:
    """How many invoices the sandbox holds for each document number with ``prefix``."""
    found: Counter[str] = Counter()
    cursor = None
    with client_for(sb) as client:
        while True:
            query: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
            page = client.send(rutter_nb.request("GET", "/accounting/invoices", query=query))
            for invoice in page.result["invoices"]:
                number = invoice.get("document_number") or ""
                if number.startswith(prefix + "-"):
                    found[number] += 1
            cursor = page.result["next_cursor"]
            if not cursor:
                return found


def api_requests(sb: Sandbox) -> int:
    """Requests the sandbox answered on /versioned routes (what Rutter's limit counts)."""
    stats = sb.stats()
    return sum(
        sum(codes.values()) for route, codes in stats["requests"].items() if " /versioned/" in route
    )


def post_json(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers})
