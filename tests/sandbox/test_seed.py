"""Seed data and deterministic randomness."""

from __future__ import annotations

import uuid

from rutter_nb.sandbox.seed import Randomness, now_iso, seed_connection, token_hash
from rutter_nb.sandbox.store import Store


def test_seeded_randomness_repeats_and_makes_v4_uuids() -> None:
    a, b = Randomness(5), Randomness(5)
    ids = [a.uuid() for _ in range(3)]
    assert ids == [b.uuid() for _ in range(3)]
    assert all(uuid.UUID(i).version == 4 for i in ids)
    assert Randomness(6).uuid() != ids[0]
    assert Randomness(None).uuid() != Randomness(None).uuid()


def test_seed_connection_creates_usable_entities() -> None:
    store = Store(":memory:")
    conn = seed_connection(store, Randomness(1), "token-1")
    assert store.connection_by_token(token_hash("token-1")) == conn
    for type_, count in [("customer", 3), ("vendor", 3), ("item", 4), ("account", 5)]:
        page, _ = store.list_entities(conn["id"], type_, 0, 50)
        assert len(page) == count
    assert store.created_counts() == {}  # seed data is not "created"


def test_tokens_are_stored_only_as_hashes() -> None:
    assert token_hash("abc") != "abc" and len(token_hash("abc")) == 64
    assert now_iso().endswith("Z") and len(now_iso()) == 24
