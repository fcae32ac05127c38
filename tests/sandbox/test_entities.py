"""Entity catalogue: version-specific schemas, references, totals and money rendering."""

from __future__ import annotations

from rutter_nb.sandbox import entities
from rutter_nb.sandbox.validation import first_error

INVOICE = entities.BY_SINGULAR["invoice"]
NOW = "2024-08-01T00:00:00.000Z"


def test_the_issue_lists_every_required_route() -> None:
    paths = {kind.path for kind in entities.KINDS}
    for name in ("invoices", "bills", "customers", "vendors", "items", "journal_entries"):
        assert f"accounting/{name}" in paths
    assert {"accounting/invoice_payments", "products"} <= paths


def test_2023_invoices_need_due_date_account_and_items() -> None:
    data = {
        "customer_id": "c",
        "issue_date": "2024-08-01",
        "currency_code": "USD",
        "line_items": [{"total_amount": 1}],
    }
    assert first_error(data, INVOICE.create_schema("2024-08-31")) is None
    problem = first_error(data, INVOICE.create_schema("2023-03-14"))
    assert problem == "due_date: required field is missing"
    data.update(due_date="2024-09-01", account_id="a")
    assert first_error(data, INVOICE.create_schema("2023-03-14")) == (
        "line_items[0].item: required field is missing"
    )


def test_references_walk_nested_lists() -> None:
    data = {"customer_id": "c1", "line_items": [{"item": {"id": "i1"}}, {"account_id": "a2"}]}
    assert sorted(entities.references(INVOICE, data)) == [
        ("customer_id", "customer", "c1"),
        ("line_items[0].item.id", "item", "i1"),
        ("line_items[1].account_id", "account", "a2"),
    ]


def test_build_computes_totals_and_render_formats_2023_money() -> None:
    data = {"customer_id": "c", "line_items": [{"total_amount": 10}, {"total_amount": 2.5}]}
    invoice = entities.build(INVOICE, data, "id-1", "77", NOW)
    assert invoice["total_amount"] == 12.5 and invoice["amount_due"] == 12.5
    assert invoice["status"] == "open" and invoice["created_at"] == NOW
    assert [line["id"] for line in invoice["line_items"]] == ["id-1-1", "id-1-2"]
    old = entities.render(INVOICE, invoice, "2023-03-14")
    assert old["total_amount"] == "12.50" and old["line_items"][1]["amount"] == "2.50"
    assert old["line_items"][0]["quantity"] == 1  # not money
    assert entities.render(INVOICE, invoice, "2024-08-31") is invoice
    product = entities.BY_SINGULAR["product"]
    mug = entities.build(
        product, {"name": "m", "variants": [{"price": 3, "sku": "s"}]}, "p", "1", NOW
    )
    assert entities.render(product, mug, "2023-03-14")["variants"][0]["price"] == 3


def test_patch_keeps_totals_and_replaces_lines() -> None:
    invoice = entities.build(INVOICE, {"line_items": [{"total_amount": 10}]}, "i", "1", NOW)
    memo = entities.patch(INVOICE, invoice, {"memo": "m"}, "later")
    assert memo["total_amount"] == 10 and memo["memo"] == "m" and memo["updated_at"] == "later"
    relined = entities.patch(INVOICE, invoice, {"line_items": [{"total_amount": 4}]}, "later")
    assert relined["total_amount"] == 4 and relined["amount_due"] == 4
