"""builders: required fields per version, conversions and typo hints."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import rutter_nb
from rutter_nb.errors import InvalidRequest

LINES = [{"total_amount": 10, "description": "x"}]


def test_invoice_builds_a_post_with_normalised_fields() -> None:
    req = rutter_nb.invoice(
        customer_id="c1",
        issue_date=dt.date(2024, 5, 1),
        currency_code="usd",
        line_items=[{"total_amount": Decimal("12.50")}],
        memo="hello",
    )
    assert (req.method, req.path, req.entity) == ("POST", "/accounting/invoices", "invoice")
    inv = req.body["invoice"]
    assert inv["issue_date"] == "2024-05-01T00:00:00.000Z"
    assert inv["currency_code"] == "USD"
    assert inv["line_items"] == [{"total_amount": 12.5}]
    assert inv["memo"] == "hello"


def test_missing_fields_are_listed_at_once() -> None:
    with pytest.raises(InvalidRequest, match="missing required 'customer_id', 'issue_date'"):
        rutter_nb.invoice(currency_code="USD", line_items=LINES)


def test_misspelled_field_gets_a_suggestion() -> None:
    with pytest.raises(InvalidRequest, match="did you mean 'customer_id'"):
        rutter_nb.invoice(
            custmer_id="c1", issue_date="2024-01-01", currency_code="USD", line_items=LINES
        )


def test_unknown_but_unrelated_fields_pass_through() -> None:
    req = rutter_nb.customer(customer_name="Ada", additional_fields={"x": 1})
    assert req.body == {"customer": {"customer_name": "Ada", "additional_fields": {"x": 1}}}


def test_version_2023_requires_more_and_still_sends_numbers() -> None:
    with pytest.raises(InvalidRequest, match="'due_date'"):
        rutter_nb.invoice(
            customer_id="c",
            issue_date="2024-01-01",
            currency_code="USD",
            line_items=LINES,
            version="2023-03-14",
        )
    req = rutter_nb.invoice(
        customer_id="c",
        issue_date="2024-01-01",
        due_date="2024-02-01T10:00:00+02:00",
        account_id="a",
        currency_code="USD",
        line_items=[
            {"total_amount": 10.5, "item": {"id": "i", "quantity": 1, "unit_amount": 10.5}}
        ],
        version="2023-03-14",
    )
    inv = req.body["invoice"]
    assert inv["due_date"] == "2024-02-01T08:00:00.000Z"
    assert inv["line_items"][0]["total_amount"] == 10.5  # 2023 creates take numbers
    assert inv["line_items"][0]["item"]["unit_amount"] == 10.5
    assert req.version == "2023-03-14"


def test_line_item_checks() -> None:
    base = {"customer_id": "c", "issue_date": "2024-01-01", "currency_code": "USD"}
    with pytest.raises(InvalidRequest, match=r"line_items\[1\]: missing required 'total_amount'"):
        rutter_nb.invoice(**base, line_items=[{"total_amount": 1}, {"description": "no"}])
    with pytest.raises(InvalidRequest, match="non-empty list"):
        rutter_nb.invoice(**base, line_items=[])
    with pytest.raises(InvalidRequest, match="did you mean 'total_amount'"):
        rutter_nb.invoice(**base, line_items=[{"total_amout": 1}])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"issue_date": "tomorrow"}, "issue_date: expected an ISO-8601"),
        ({"currency_code": "dollars"}, "currency_code: expected a 3-letter"),
        ({"customer_id": 42}, "customer_id: expected a non-empty id"),
        ({"line_items": [{"total_amount": "ten"}]}, "total_amount: expected a number"),
        ({"line_items": [{"total_amount": True}]}, "total_amount: expected a number"),
        ({"version": "2099-01-01"}, "unknown API version"),
    ],
)
def test_mistyped_values(kwargs: dict[str, object], match: str) -> None:
    fields: dict[str, object] = {
        "customer_id": "c",
        "issue_date": "2024-01-01",
        "currency_code": "USD",
        "line_items": LINES,
    }
    fields.update(kwargs)
    with pytest.raises(InvalidRequest, match=match):
        rutter_nb.invoice(**fields)  # type: ignore[arg-type]


def test_every_entity_builder() -> None:
    reqs = {
        "bill": rutter_nb.bill(
            vendor_id="v", issue_date="2024-01-01", currency_code="EUR", line_items=LINES
        ),
        "customer": rutter_nb.customer(customer_name="Ada"),
        "vendor": rutter_nb.vendor(vendor_name="Acme"),
        "item": rutter_nb.item(name="Widget"),
        "journal_entry": rutter_nb.journal_entry(
            transaction_date="2024-01-01",
            currency_code="USD",
            line_items=[
                {"account_id": "a1", "total_amount": 5},
                {"account_id": "a2", "total_amount": -5},
            ],
        ),
        "invoice_payment": rutter_nb.invoice_payment(
            account_id="a",
            customer_id="c",
            txn_date="2024-01-01",
            currency_code="USD",
            total_amount=5,
            linked_invoices=[{"id": "i", "amount": 5}],
        ),
        "product": rutter_nb.product(
            name="Mug", description="A mug", variants=[{"price": 9.5, "sku": "M-1"}]
        ),
    }
    for entity, req in reqs.items():
        assert req.entity == entity
        assert list(req.body) == [entity]
        assert req.method == "POST"
    assert reqs["product"].path == "/products"


def test_builder_accepts_response_mode_and_key() -> None:
    req = rutter_nb.item(name="W", response_mode="async", idempotency_key="k")
    assert (req.response_mode, req.idempotency_key) == ("async", "k")
    assert req.wire_body("2024-08-31") == {"response_mode": "async", "item": {"name": "W"}}
