"""The entity catalogue: routes, stage-one schemas, references and how entities are built.

Stage one (before acceptance) checks shape with `validation.first_error`; stage two (inside
the job, like the platform would) checks references and business rules and fails the job
with HTTP 450. Entities are stored with numeric money; `render` turns money into decimal
strings for version 2023-03-14.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .validation import Schema

_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}"}
_CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$"}
_STR = {"type": "string"}
_NUM = {"type": "number"}

#: Money fields rendered as decimal strings in 2023-03-14 (accounting entities only).
MONEY_KEYS = frozenset(
    {
        "amount",
        "amount_due",
        "balance",
        "discount_amount",
        "sub_total",
        "tax_amount",
        "total_amount",
        "total_discount",
        "unit_amount",
    }
)


_SCHEMAS: dict[tuple[str, object], Schema] = {}


@dataclass(frozen=True)
class Ref:
    """A reference from a field (`path`, `[]` walks a list) to an entity of `target` type."""

    path: tuple[str, ...]
    target: str


@dataclass(frozen=True)
class Kind:
    """One entity type: where it lives, what a create needs, what it references."""

    path: str
    plural: str
    singular: str
    schema: Schema
    required_2023: tuple[str, ...] = ()
    item_required_2023: tuple[str, ...] = ()
    refs: tuple[Ref, ...] = ()
    writable: tuple[str, ...] = ("POST", "PATCH", "DELETE")
    money_as_strings: bool = True
    finish: Callable[[dict[str, Any]], None] | None = field(default=None, compare=False)

    def create_schema(self, version: str) -> Schema:
        """The entity object's schema for a create in `version` (2023-03-14 asks more).

        Cached per kind and version; callers must not mutate the result.
        """
        key = (self.path, version == "2023-03-14")
        cached = _SCHEMAS.get(key)
        if cached is None:
            cached = _SCHEMAS[key] = self._create_schema(version)
        return cached

    def _create_schema(self, version: str) -> Schema:
        schema = copy.deepcopy(self.schema)
        if version == "2023-03-14":
            schema["required"] = list(schema.get("required", [])) + list(self.required_2023)
            if self.item_required_2023:
                items = schema["properties"]["line_items"]["items"]
                items["required"] = list(items.get("required", [])) + list(self.item_required_2023)
        return schema

    def update_schema(self) -> Schema:
        """A PATCH may send any subset of fields, each with its create type (cached)."""
        key = (self.path, "update")
        cached = _SCHEMAS.get(key)
        if cached is None:
            cached = copy.deepcopy(self.schema)
            cached.pop("required", None)
            cached["minProperties"] = 1
            _SCHEMAS[key] = cached
        return cached


def _obj(required: list[str], **props: Any) -> Schema:
    return {"type": "object", "required": required, "properties": props}


_LINE_ITEM = _obj(
    ["total_amount"],
    total_amount=_NUM,
    description=_STR,
    account_id=_STR,
    tax_rate_id=_STR,
    discount_amount=_NUM,
    item=_obj([], id=_STR, quantity=_NUM, unit_amount=_NUM),
)


def _document_finish(entity: dict[str, Any]) -> None:
    """Invoices and bills: give line items ids and compute the totals."""
    lines = entity.get("line_items") or []
    for index, line in enumerate(lines):
        item = line.pop("item", None) or {}
        amount = float(line.get("total_amount", line.get("amount", 0)))
        line.setdefault("id", f"{entity['id']}-{index + 1}")
        line.setdefault("platform_id", str(index + 1))
        line["amount"] = amount
        line["sub_total"] = amount
        line.setdefault("tax_amount", 0.0)
        line.setdefault("discount_amount", 0.0)
        line.setdefault("discount_percentage", None)
        line["item_id"] = item.get("id", line.get("item_id"))
        line["quantity"] = item.get("quantity", line.get("quantity", 1))
        line["unit_amount"] = item.get("unit_amount", line.get("unit_amount", amount))
        line.pop("total_amount", None)
        for key in ("account_id", "tax_rate_id", "description"):
            line.setdefault(key, None)
    total = round(sum(float(line["amount"]) for line in lines), 2)
    paid = round(total - float(entity.get("amount_due", total)), 2) if "amount_due" in entity else 0
    entity["sub_total"] = total
    entity["tax_amount"] = 0.0
    entity["total_discount"] = 0.0
    entity["total_amount"] = total
    entity["amount_due"] = round(total - paid, 2)
    entity.setdefault("status", "open")
    entity.setdefault("linked_payments", [])
    for key in ("account_id", "due_date", "document_number", "memo", "subsidiary_id"):
        entity.setdefault(key, None)


def _journal_finish(entity: dict[str, Any]) -> None:
    for index, line in enumerate(entity.get("line_items") or []):
        line.setdefault("id", f"{entity['id']}-{index + 1}")
    entity.setdefault("memo", None)


def _active(entity: dict[str, Any]) -> None:
    entity.setdefault("status", "active")


def _customer_finish(entity: dict[str, Any]) -> None:
    _active(entity)
    entity.setdefault("currency_code", "USD")
    entity.setdefault("addresses", [])


def _product_finish(entity: dict[str, Any]) -> None:
    _active(entity)
    for index, variant in enumerate(entity.get("variants") or []):
        variant.setdefault("id", f"{entity['id']}-{index + 1}")
        variant.setdefault("product_id", entity["id"])


def _payment_finish(entity: dict[str, Any]) -> None:
    entity.setdefault("memo", None)


KINDS: tuple[Kind, ...] = (
    Kind(
        "accounting/invoices",
        "invoices",
        "invoice",
        _obj(
            ["customer_id", "issue_date", "currency_code", "line_items"],
            customer_id=_STR,
            issue_date=_DATE,
            due_date=_DATE,
            currency_code=_CURRENCY,
            document_number=_STR,
            memo=_STR,
            account_id=_STR,
            status={"type": "string", "enum": ["draft", "submitted", "open"]},
            line_items={"type": "array", "minItems": 1, "items": _LINE_ITEM},
        ),
        required_2023=("due_date", "account_id"),
        item_required_2023=("item",),
        refs=(
            Ref(("customer_id",), "customer"),
            Ref(("account_id",), "account"),
            Ref(("line_items", "[]", "item", "id"), "item"),
            Ref(("line_items", "[]", "account_id"), "account"),
        ),
        finish=_document_finish,
    ),
    Kind(
        "accounting/bills",
        "bills",
        "bill",
        _obj(
            ["vendor_id", "issue_date", "currency_code", "line_items"],
            vendor_id=_STR,
            issue_date=_DATE,
            due_date=_DATE,
            currency_code=_CURRENCY,
            document_number=_STR,
            memo=_STR,
            account_id=_STR,
            line_items={"type": "array", "minItems": 1, "items": _LINE_ITEM},
        ),
        refs=(
            Ref(("vendor_id",), "vendor"),
            Ref(("account_id",), "account"),
            Ref(("line_items", "[]", "item", "id"), "item"),
            Ref(("line_items", "[]", "account_id"), "account"),
        ),
        finish=_document_finish,
    ),
    Kind(
        "accounting/customers",
        "customers",
        "customer",
        _obj(
            ["customer_name"],
            customer_name=_STR,
            contact_name=_STR,
            email=_STR,
            phone=_STR,
            currency_code=_CURRENCY,
        ),
        required_2023=("contact_name", "email", "phone"),
        finish=_customer_finish,
    ),
    Kind(
        "accounting/vendors",
        "vendors",
        "vendor",
        _obj(
            ["vendor_name"],
            vendor_name=_STR,
            contact_name=_STR,
            email=_STR,
            phone=_STR,
            currency_code=_CURRENCY,
        ),
        required_2023=("contact_name", "currency_code"),
        finish=_active,
    ),
    Kind(
        "accounting/items",
        "items",
        "item",
        _obj(
            ["name"],
            name=_STR,
            type={"type": "string", "enum": ["inventory", "non_inventory", "service"]},
            invoice_item=_obj([], account_id=_STR, description=_STR, unit_price=_NUM),
            bill_item=_obj([], account_id=_STR, description=_STR, unit_price=_NUM),
        ),
        refs=(
            Ref(("invoice_item", "account_id"), "account"),
            Ref(("bill_item", "account_id"), "account"),
        ),
        finish=_active,
    ),
    Kind(
        "accounting/accounts",
        "accounts",
        "account",
        _obj(
            ["name", "account_type"],
            name=_STR,
            account_type={
                "type": "string",
                "enum": ["bank", "accounts_receivable", "accounts_payable", "income", "expense"],
            },
            currency_code=_CURRENCY,
            nominal_code=_STR,
        ),
        finish=_active,
    ),
    Kind(
        "accounting/journal_entries",
        "journal_entries",
        "journal_entry",
        _obj(
            ["transaction_date", "currency_code", "line_items"],
            transaction_date=_DATE,
            currency_code=_CURRENCY,
            memo=_STR,
            line_items={
                "type": "array",
                "minItems": 2,
                "items": _obj(
                    ["account_id", "total_amount"],
                    account_id=_STR,
                    total_amount=_NUM,
                    description=_STR,
                ),
            },
        ),
        refs=(Ref(("line_items", "[]", "account_id"), "account"),),
        finish=_journal_finish,
    ),
    Kind(
        "accounting/invoice_payments",
        "invoice_payments",
        "invoice_payment",
        _obj(
            ["account_id", "customer_id", "txn_date", "currency_code", "total_amount"],
            account_id=_STR,
            customer_id=_STR,
            txn_date=_DATE,
            currency_code=_CURRENCY,
            total_amount=_NUM,
            memo=_STR,
            linked_invoices={
                "type": "array",
                "items": _obj(["id", "amount"], id=_STR, amount=_NUM),
            },
        ),
        required_2023=("linked_invoices",),
        refs=(
            Ref(("account_id",), "account"),
            Ref(("customer_id",), "customer"),
            Ref(("linked_invoices", "[]", "id"), "invoice"),
        ),
        finish=_payment_finish,
    ),
    Kind(
        "products",
        "products",
        "product",
        _obj(
            ["name", "variants"],
            name=_STR,
            description=_STR,
            status={"type": "string", "enum": ["active", "archived", "draft"]},
            tags={"type": "array", "items": _STR},
            variants={
                "type": "array",
                "minItems": 1,
                "items": _obj(["price", "sku"], price=_NUM, sku=_STR, title=_STR),
            },
        ),
        required_2023=("description",),
        writable=("POST",),
        money_as_strings=False,
        finish=_product_finish,
    ),
)

BY_PATH: dict[str, Kind] = {kind.path: kind for kind in KINDS}
BY_SINGULAR: dict[str, Kind] = {kind.singular: kind for kind in KINDS}


def references(kind: Kind, data: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """Yield `(field path, target type, id)` for every reference present in `data`."""
    for ref in kind.refs:
        yield from _walk(data, ref.path, "", ref.target)


def _walk(
    value: Any, path: tuple[str, ...], where: str, target: str
) -> Iterator[tuple[str, str, str]]:
    if not path:
        if isinstance(value, str):
            yield where, target, value
        return
    head, rest = path[0], path[1:]
    if head == "[]":
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from _walk(item, rest, f"{where}[{index}]", target)
    elif isinstance(value, dict) and value.get(head) is not None:
        yield from _walk(value[head], rest, f"{where}.{head}" if where else head, target)


def build(
    kind: Kind, data: dict[str, Any], entity_id: str, platform_id: str, now: str
) -> dict[str, Any]:
    """A new stored entity from validated create data (canonical, numeric money)."""
    entity: dict[str, Any] = {"id": entity_id, "platform_id": platform_id}
    entity.update(copy.deepcopy(data))
    if kind.finish:
        kind.finish(entity)
    entity["created_at"] = now
    entity["updated_at"] = now
    return entity


def patch(kind: Kind, entity: dict[str, Any], changes: dict[str, Any], now: str) -> dict[str, Any]:
    """The entity with `changes` applied on top (line items replaced as a whole)."""
    updated = copy.deepcopy(entity)
    if "line_items" in changes and kind.finish is _document_finish:
        updated.pop("amount_due", None)
    updated.update(copy.deepcopy(changes))
    if kind.finish:
        kind.finish(updated)
    updated["updated_at"] = now
    return updated


def render(kind: Kind, entity: dict[str, Any], version: str) -> dict[str, Any]:
    """The entity as `version` shows it: money as decimal strings in 2023-03-14."""
    if version != "2023-03-14" or not kind.money_as_strings:
        return entity
    return _stringify(entity)  # type: ignore[no-any-return]


def _stringify(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _stringify(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v, key) for v in value]
    if key in MONEY_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.2f}"
    return value
