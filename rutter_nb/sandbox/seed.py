"""Seed data and id generation: one connection with customers, vendors, items, accounts.

With a seed, ids and timings come from `random.Random(seed)` so runs repeat exactly.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, datetime
from typing import Any

from . import entities
from .store import Store


class Randomness:
    """Ids and random draws: deterministic with a seed, else from the OS."""

    def __init__(self, seed: int | str | None) -> None:
        self.rng: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()

    def uuid(self) -> str:
        """A version-4 UUID string."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def platform_id(self) -> str:
        """A platform-style numeric id."""
        return str(self.rng.randint(1000, 999_999))

    def uniform(self, low: float, high: float) -> float:
        """A float in [low, high]."""
        return low if low == high else self.rng.uniform(low, high)

    def chance(self, probability: float) -> bool:
        """True with the given probability."""
        return probability > 0 and self.rng.random() < probability


def now_iso() -> str:
    """ISO-8601 UTC with milliseconds and `Z`, like Rutter's timestamps."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def token_hash(token: str) -> str:
    """Access tokens are stored and compared only as hashes."""
    return hashlib.sha256(token.encode()).hexdigest()


_ACCOUNTS = [
    ("Checking", "bank", "1000"),
    ("Accounts Receivable", "accounts_receivable", "1100"),
    ("Accounts Payable", "accounts_payable", "2000"),
    ("Sales", "income", "4000"),
    ("Office Expenses", "expense", "6000"),
]
_CUSTOMERS = [
    ("Acme Corp", "Ada Lovelace", "ada@acme.example"),
    ("Globex", "Hank Scorpio", "hank@globex.example"),
    ("Initech", "Bill Lumbergh", "bill@initech.example"),
]
_VENDORS = [
    ("Paper Supplies Ltd", "Michael Scott"),
    ("Cloud Hosting Inc", "Grace Hopper"),
    ("Coffee Roasters", "Juan Valdez"),
]
_ITEMS = [("Consulting hour", "service", 150.0), ("Widget", "non_inventory", 25.0)]
_ITEMS += [("Support plan", "service", 99.0), ("Training day", "service", 1200.0)]


def seed_connection(store: Store, rand: Randomness, token: str) -> dict[str, str]:
    """Create a connection for `token` with its seed entities; returns the connection."""
    now = now_iso()
    conn = {"id": rand.uuid(), "orgId": rand.uuid(), "platform": "QUICKBOOKS"}
    with store.tx():
        store.add_connection(conn["id"], token_hash(token), conn["orgId"], conn["platform"], now)
        records: list[tuple[str, dict[str, Any]]] = []
        accounts = []
        for name, account_type, code in _ACCOUNTS:
            data = {"name": name, "account_type": account_type, "nominal_code": code}
            data["currency_code"] = "USD"
            accounts.append(rand.uuid())
            records.append(("account", {**data, "id": accounts[-1], "balance": 0.0}))
        for name, contact, email in _CUSTOMERS:
            data = {"customer_name": name, "contact_name": contact, "email": email}
            records.append(("customer", {**data, "phone": "+1 555 0100", "id": rand.uuid()}))
        for name, contact in _VENDORS:
            data = {"vendor_name": name, "contact_name": contact, "currency_code": "USD"}
            records.append(("vendor", {**data, "id": rand.uuid()}))
        for name, item_type, price in _ITEMS:
            sale = {"account_id": accounts[3], "description": name, "unit_price": price}
            item: dict[str, Any] = {"name": name, "type": item_type, "invoice_item": sale}
            records.append(("item", {**item, "id": rand.uuid()}))
        for type_, record in records:
            kind = entities.BY_SINGULAR[type_]
            entity_id = record.pop("id")
            entity = entities.build(kind, record, entity_id, rand.platform_id(), now)
            store.put_entity(conn["id"], type_, entity, seeded=True)
    return conn
