"""The declared columns of every frame, so that columns never depend on the data.

``json_normalize`` (and polars' equivalent) derive columns from whatever the rows happen to
contain: a batch of failures loses the response columns, a field that is sometimes ``null``
and sometimes an object yields both ``x`` and ``x.y``. Here each column is declared once,
with a *kind* that fixes its pandas dtype. Body fields come from Rutter's 2023-03-14 OpenAPI
document plus the fields 2024-08-31 adds; money fields are decimal strings in 2023-03-14 and
numbers in 2024-08-31, and the ``money`` kind accepts both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, TypeAlias

__all__ = [
    "CORE_COLUMNS",
    "ENTITY_BODIES",
    "ERROR_COLUMNS",
    "KNOWN_STATUSES",
    "LIST_ELEMENTS",
    "Kind",
    "Tree",
    "leaves",
]

Kind: TypeAlias = Literal[
    "str", "money", "number", "int", "bool", "datetime", "status", "list", "object"
]
"""How a column is typed: see ``_columns.to_array`` for the dtype of each kind."""

Tree: TypeAlias = dict[str, "Kind | Tree"]
"""Field name to kind, or to a nested tree for an object flattened with dots."""

KNOWN_STATUSES: tuple[str, ...] = ("prequeued", "pending", "success", "partial_success", "failure")
"""The AsynchronousJob statuses, in lifecycle order: the fixed categories of ``status``."""

CORE_COLUMNS: tuple[tuple[str, Kind], ...] = (
    ("job_id", "str"),
    ("status", "status"),
    ("sync", "bool"),
    ("http_status", "int"),
    ("method", "str"),
    ("path", "str"),
    ("entity", "str"),
    ("response_mode", "str"),
    ("idempotency_key", "str"),
    ("submitted_at", "datetime"),
    ("completed_at", "datetime"),
    ("duration_s", "number"),
    ("polls", "int"),
    ("attempts", "int"),
    ("replayed", "bool"),
    ("error_type", "str"),
    ("error_code", "str"),
    ("error_message", "str"),
)
"""Columns every jobs frame starts with, in this order."""

ERROR_COLUMNS: tuple[tuple[str, Kind], ...] = (
    ("job_id", "str"),
    ("source", "str"),
    ("status", "status"),
    ("http_status", "int"),
    ("error_type", "str"),
    ("error_code", "str"),
    ("error_message", "str"),
    ("method", "str"),
    ("path", "str"),
    ("entity", "str"),
    ("response_mode", "str"),
    ("idempotency_key", "str"),
    ("submitted_at", "datetime"),
)
"""Columns every errors frame starts with; the flattened request bodies follow."""

_TIMESTAMPS: Tree = {
    "created_at": "datetime",
    "updated_at": "datetime",
    "last_synced_at": "datetime",
}
_ADDRESSES: Tree = {"addresses": "list"}

_INVOICE_REQUEST: Tree = {
    "customer_id": "str",
    "account_id": "str",
    "subsidiary_id": "str",
    "payment_terms_id": "str",
    "issue_date": "datetime",
    "due_date": "datetime",
    "currency_code": "str",
    "document_number": "str",
    "memo": "str",
    "status": "str",
    "line_items": "list",
    "additional_fields": {"addresses": "list"},
}
_INVOICE_RESPONSE: Tree = {
    "id": "str",
    "platform_id": "str",
    "customer_id": "str",
    "account_id": "str",
    "subsidiary_id": "str",
    "issue_date": "datetime",
    "due_date": "datetime",
    "currency_code": "str",
    "document_number": "str",
    "memo": "str",
    "status": "str",
    "amount_due": "money",
    "sub_total": "money",
    "tax_amount": "money",
    "total_discount": "money",
    "total_amount": "money",
    "line_items": "list",
    "linked_payments": "list",
    **_TIMESTAMPS,
}
_BILL_REQUEST: Tree = {
    "vendor_id": "str",
    "account_id": "str",
    "subsidiary_id": "str",
    "payment_terms_id": "str",
    "issue_date": "datetime",
    "due_date": "datetime",
    "currency_code": "str",
    "document_number": "str",
    "memo": "str",
    "line_items": "list",
    "linked_purchase_orders": "list",
    "additional_fields": {"class_id": "str", "department_id": "str", "location_id": "str"},
}
_BILL_RESPONSE: Tree = {
    "id": "str",
    "platform_id": "str",
    "vendor_id": "str",
    "account_id": "str",
    "subsidiary_id": "str",
    "payment_terms_id": "str",
    "issue_date": "datetime",
    "due_date": "datetime",
    "currency_code": "str",
    "document_number": "str",
    "memo": "str",
    "status": "str",
    "amount_due": "money",
    "sub_total": "money",
    "tax_amount": "money",
    "total_discount": "money",
    "total_amount": "money",
    "line_items": "list",
    "linked_payments": "list",
    "linked_credit_memos": "list",
    "linked_purchase_orders": "list",
    **_TIMESTAMPS,
}
_CUSTOMER_REQUEST: Tree = {
    "customer_name": "str",
    "contact_name": "str",
    "email": "str",
    "phone": "str",
    "currency_code": "str",
    "registration_number": "str",
    "tax_number": "str",
    **_ADDRESSES,
}
_CUSTOMER_RESPONSE: Tree = {
    "id": "str",
    "platform_id": "str",
    "customer_name": "str",
    "contact_name": "str",
    "first_name": "str",
    "last_name": "str",
    "email": "str",
    "phone": "str",
    "currency_code": "str",
    "status": "str",
    **_ADDRESSES,
    **_TIMESTAMPS,
}
_VENDOR_REQUEST: Tree = {
    "vendor_name": "str",
    "contact_name": "str",
    "email": "str",
    "phone": "str",
    "currency_code": "str",
    "registration_number": "str",
    "tax_number": "str",
    "website": "str",
    **_ADDRESSES,
    "subsidiaries": "list",
    "additional_fields": {"default_payables_account_id": "str"},
}
_VENDOR_RESPONSE: Tree = {
    "id": "str",
    "platform_id": "str",
    "vendor_name": "str",
    "contact_name": "str",
    "email": "str",
    "phone": "str",
    "currency_code": "str",
    "registration_number": "str",
    "tax_number": "str",
    "website": "str",
    "status": "str",
    **_ADDRESSES,
    "subsidiaries": "list",
    **_TIMESTAMPS,
}

ENTITY_BODIES: dict[str, tuple[Tree, Tree]] = {
    "invoice": (_INVOICE_REQUEST, _INVOICE_RESPONSE),
    "bill": (_BILL_REQUEST, _BILL_RESPONSE),
    "customer": (_CUSTOMER_REQUEST, _CUSTOMER_RESPONSE),
    "vendor": (_VENDOR_REQUEST, _VENDOR_RESPONSE),
}
"""Entity (its body wrapper key) to the declared (request, response) fields inside it."""

_LINE_ITEM: Tree = {
    "id": "str",
    "platform_id": "str",
    "description": "str",
    "account_id": "str",
    "item_id": "str",
    "tax_rate_id": "str",
    "class_id": "str",
    "customer_id": "str",
    "department_id": "str",
    "location_id": "str",
    "discount_item_id": "str",
    "quantity": "number",
    "unit_amount": "money",
    "amount": "money",
    "discount_amount": "money",
    "discount_percentage": "number",
    "sub_total": "money",
    "tax_amount": "money",
    "total_amount": "money",
    "item": {"id": "str", "quantity": "number", "unit_amount": "money"},
    "additional_fields": {"rev_rec_start_date": "datetime", "rev_rec_end_date": "datetime"},
}
_LINKED_PAYMENT: Tree = {
    "id": "str",
    "type": "str",
    "date": "datetime",
    "allocated_date": "datetime",
    "amount": "money",
    "allocated_amount": "money",
}
_ADDRESS: Tree = {
    "type": "str",
    "address1": "str",
    "address2": "str",
    "city": "str",
    "region": "str",
    "postal_code": "str",
    "country": "str",
}
_ID_ONLY: Tree = {"id": "str"}

LIST_ELEMENTS: dict[str, Tree] = {
    "line_items": _LINE_ITEM,
    "linked_payments": _LINKED_PAYMENT,
    "linked_credit_memos": _LINKED_PAYMENT,
    "linked_purchase_orders": _ID_ONLY,
    "addresses": _ADDRESS,
    "subsidiaries": {"id": "str", "primary": "bool"},
}
"""A declared list field's name to the fields of its elements (for ``records_frame``)."""


def leaves(tree: Tree, prefix: str = "") -> Iterator[tuple[str, Kind]]:
    """Every declared leaf of a tree as (dotted name, kind), in declaration order."""
    for name, sub in tree.items():
        if isinstance(sub, dict):
            yield from leaves(sub, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", sub
