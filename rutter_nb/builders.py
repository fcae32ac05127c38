"""Builders for common Rutter writes: the required fields as keyword arguments.

Each builder checks the fields the chosen API version requires, converts dates to
ISO-8601 (milliseconds, ``Z``) and money (numbers, decimal strings, ``Decimal``) to JSON
numbers, as every version's create schemas want (2023-03-14 *returns* money as strings,
but takes numbers); ``version=`` defaults to ``RUTTER_VERSION``, else 2024-08-31,
catches misspelled field names (``custmer_id``) with a suggestion, and passes every other
keyword through as ``**extra``.

>>> import rutter_nb
>>> req = rutter_nb.invoice(customer_id="c1", issue_date="2024-05-01", currency_code="usd",
...                         line_items=[{"total_amount": 120}])
>>> req.body["invoice"]["currency_code"], req.body["invoice"]["line_items"][0]["total_amount"]
('USD', 120)
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rutter_nb.errors import InvalidRequest
from rutter_nb.requests import ApiRequest
from rutter_nb.settings import DEFAULT_VERSION, KNOWN_VERSIONS

__all__ = [
    "bill",
    "customer",
    "invoice",
    "invoice_payment",
    "item",
    "journal_entry",
    "product",
    "vendor",
]

_DATE_FIELDS = frozenset({"issue_date", "due_date", "txn_date", "transaction_date", "allocated_at"})
_MONEY_FIELDS = frozenset({"total_amount", "amount", "unit_amount", "price", "discount_amount"})
_LEGACY = "2023-03-14"  # stricter required fields


@dataclass(frozen=True)
class _Spec:
    """Fields of one entity create: required per version, and known optional ones."""

    entity: str
    path: str
    required: tuple[str, ...]
    legacy_required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    lines: str | None = None  # name of the list of sub-records, if any
    line_required: tuple[str, ...] = ()
    legacy_line_required: tuple[str, ...] = ()
    line_optional: tuple[str, ...] = ()

    def required_for(self, version: str) -> tuple[str, ...]:
        return self.legacy_required if version == _LEGACY else self.required

    def line_required_for(self, version: str) -> tuple[str, ...]:
        return self.legacy_line_required if version == _LEGACY else self.line_required


# Required fields: 2023-03-14 from Rutter's published OpenAPI document and PROTOCOL.md;
# later versions from Rutter's 2024-08-31 docs for invoices (PROTOCOL.md) and, for the
# other entities, [ours] the same relaxations the embedded sandbox applies.
_INVOICE = _Spec(
    "invoice",
    "/accounting/invoices",
    ("customer_id", "issue_date", "currency_code", "line_items"),
    ("customer_id", "issue_date", "due_date", "currency_code", "account_id", "line_items"),
    ("due_date", "document_number", "memo", "account_id", "status", "additional_fields"),
    "line_items",
    ("total_amount",),
    ("total_amount", "item"),
    ("description", "item", "account_id", "tax_rate_id", "discount_amount", "discount_item_id"),
)
_BILL = _Spec(
    "bill",
    "/accounting/bills",
    ("vendor_id", "issue_date", "currency_code", "line_items"),
    ("vendor_id", "issue_date", "currency_code", "line_items"),
    ("due_date", "document_number", "memo", "status", "linked_purchase_orders"),
    "line_items",
    ("total_amount",),
    ("total_amount",),
    ("description", "item", "account_id", "class_id", "customer_id", "tax_rate_id"),
)
_CUSTOMER = _Spec(
    "customer",
    "/accounting/customers",
    ("customer_name",),
    ("customer_name", "contact_name", "email", "phone"),
    ("contact_name", "email", "phone", "addresses", "currency_code", "registration_number"),
)
_VENDOR = _Spec(
    "vendor",
    "/accounting/vendors",
    ("vendor_name",),
    ("vendor_name", "contact_name", "currency_code"),
    ("contact_name", "currency_code", "email", "phone", "addresses", "subsidiaries"),
)
_ITEM = _Spec(
    "item",
    "/accounting/items",
    ("name",),
    ("name",),
    ("code", "type", "status", "bill_item", "invoice_item", "quantity_on_hand"),
)
_JOURNAL_ENTRY = _Spec(
    "journal_entry",
    "/accounting/journal_entries",
    ("transaction_date", "currency_code", "line_items"),
    ("transaction_date", "currency_code", "line_items"),
    ("memo", "document_number", "subsidiary_id"),
    "line_items",
    ("account_id", "total_amount"),
    ("account_id", "total_amount"),
    ("description", "tax_rate_id", "class_id", "department_id"),
)
_INVOICE_PAYMENT = _Spec(
    "invoice_payment",
    "/accounting/invoice_payments",
    ("account_id", "customer_id", "txn_date", "currency_code", "total_amount"),
    ("account_id", "customer_id", "txn_date", "currency_code", "total_amount", "linked_invoices"),
    ("memo", "reference_number", "linked_invoices"),
    "linked_invoices",
    ("id", "amount"),
    ("id", "amount"),
    ("allocated_at",),
)
_PRODUCT = _Spec(
    "product",
    "/products",
    ("name", "variants"),
    ("name", "description", "variants"),
    ("description", "tags", "images", "status", "product_url"),
    "variants",
    ("price", "sku"),
    ("price", "sku", "option_values"),
    ("option_values", "images", "weight", "inventory", "title"),
)


def _iso(name: str, value: Any) -> str:
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidRequest(
                f"{name}: expected an ISO-8601 date like '2024-05-01', got {value!r}"
            ) from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    else:
        raise InvalidRequest(
            f"{name}: expected a date, datetime or ISO-8601 string, got {type(value).__name__}"
        )
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _money(name: str, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise InvalidRequest(f"{name}: expected a number or decimal string, got {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidRequest(
            f"{name}: expected a number or decimal string, got {value!r}"
        ) from None
    if not amount.is_finite():
        raise InvalidRequest(f"{name}: expected a finite amount, got {value!r}")
    if isinstance(value, int | float):
        return value
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _convert(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _DATE_FIELDS:
        return _iso(name, value)
    if name in _MONEY_FIELDS:
        return _money(name, value)
    if name == "currency_code":
        if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
            raise InvalidRequest(f"currency_code: expected a 3-letter ISO code, got {value!r}")
        return value.upper()
    if name.endswith("_id") and not (isinstance(value, str) and value):
        raise InvalidRequest(f"{name}: expected a non-empty id string, got {value!r}")
    if isinstance(value, Mapping):
        return {k: _convert(k, v) for k, v in value.items()}
    return value


def _check_names(
    given: Mapping[str, Any], known: Sequence[str], where: str, required: Sequence[str]
) -> None:
    missing = [f for f in required if given.get(f) is None]
    unknown = [k for k in given if k not in known]
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        if close and close[0] not in given:
            hints.append(f"{name!r} (did you mean {close[0]!r}?)")
    problems = []
    if missing:
        problems.append("missing required " + ", ".join(repr(m) for m in missing))
    if hints:
        problems.append("unknown " + ", ".join(hints))
    if problems:
        raise InvalidRequest(f"{where}: " + "; ".join(problems))


def _build(
    spec: _Spec,
    fields: dict[str, Any],
    *,
    version: str | None,
    response_mode: str | None,
    idempotency_key: str | None,
) -> ApiRequest:
    # The body's shape depends on the version, so the request records the one it was
    # built for and is sent with it: the argument, else RUTTER_VERSION, else the default.
    version = version or os.environ.get("RUTTER_VERSION") or DEFAULT_VERSION
    if version not in KNOWN_VERSIONS:
        raise InvalidRequest(f"unknown API version {version!r}; known: {', '.join(KNOWN_VERSIONS)}")
    fields = {k: v for k, v in fields.items() if v is not None}
    required = spec.required_for(version)
    known = list(dict.fromkeys(spec.legacy_required + spec.required + spec.optional))
    _check_names(fields, known, f"{spec.entity}() for version {version}", required)
    record = {k: _convert(k, v) for k, v in fields.items() if k != spec.lines}
    if spec.lines is not None and spec.lines in fields:
        lines = fields[spec.lines]
        if isinstance(lines, str | bytes | Mapping) or not isinstance(lines, Sequence) or not lines:
            raise InvalidRequest(f"{spec.lines}: expected a non-empty list of dicts")
        line_known = list(
            dict.fromkeys(spec.legacy_line_required + spec.line_required + spec.line_optional)
        )
        converted = []
        for i, line in enumerate(lines):
            if not isinstance(line, Mapping):
                raise InvalidRequest(f"{spec.lines}[{i}]: expected a dict, got {line!r}")
            line = {k: v for k, v in line.items() if v is not None}
            _check_names(line, line_known, f"{spec.lines}[{i}]", spec.line_required_for(version))
            converted.append({k: _convert(k, v) for k, v in line.items()})
        record[spec.lines] = converted
    return ApiRequest(
        "POST",
        spec.path,
        body={spec.entity: record},
        response_mode=response_mode,
        idempotency_key=idempotency_key,
        version=version,
    )


def invoice(
    *,
    customer_id: str | None = None,
    issue_date: str | dt.date | None = None,
    currency_code: str | None = None,
    line_items: Sequence[Mapping[str, Any]] | None = None,
    due_date: str | dt.date | None = None,
    version: str | None = None,
    response_mode: str | None = None,
    idempotency_key: str | None = None,
    **extra: Any,
) -> ApiRequest:
    """Create an invoice (``POST /accounting/invoices``); 2023-03-14 also needs ``due_date``
    and ``line_items[].item``."""
    fields = dict(
        customer_id=customer_id,
        issue_date=issue_date,
        currency_code=currency_code,
        line_items=line_items,
        due_date=due_date,
        **extra,
    )
    return _build(
        _INVOICE,
        fields,
        version=version,
        response_mode=response_mode,
        idempotency_key=idempotency_key,
    )


def bill(
    *,
    vendor_id: str | None = None,
    issue_date: str | dt.date | None = None,
    currency_code: str | None = None,
    line_items: Sequence[Mapping[str, Any]] | None = None,
    version: str | None = None,
    response_mode: str | None = None,
    idempotency_key: str | None = None,
    **extra: Any,
) -> ApiRequest:
    """Create a bill (``POST /accounting/bills``)."""
    fields = dict(
        vendor_id=vendor_id,
        issue_date=issue_date,
        currency_code=currency_code,
        line_items=line_items,
        **extra,
    )
    return _build(
        _BILL, fields, version=version, response_mode=response_mode, idempotency_key=idempotency_key
    )


def customer(
    *,
    customer_name: str | None = None,
    version: str | None = None,
    response_mode: str | None = None,
    idempotency_key: str | None = None,
    **extra: Any,
) -> ApiRequest:
    """Create a customer (``POST /accounting/customers``); 2023-03-14 also needs
    ``contact_name``, ``email`` and ``phone``."""
    fields = dict(customer_name=customer_name, **extra)
    return _build(
        _CUSTOMER,
        fields,
        version=version,
        response_mode=response_mode,
        idempotency_key=idempotency_key,
    )


def vendor(
    *,
    vendor_name: str | None = None,
    version: str | None = None,
    response_mode: str | None = None,
    idempotency_key: str | None = None,
    **extra: Any,
) -> ApiRequest:
    """Create a vendor (``POST /accounting/vendors``); 2023-03-14 also needs
    ``contact_name`` and ``currency_code``."""
    fields = dict(vendor_name=vendor_name, **extra)
    return _build(
        _VENDOR,
        fields,
        version=version,
        response_mode=response_mode,
        idempotency_key=idempotency_key,
    )


def item(
    *,
    name: str | None = None,
    version: str | None = None,
    response_mode: str | None = None,
    idempotency_key: str | None = None,
    **extra: Any,
) -> ApiRequest:
    """Create an item (``POST /accounting/items``)."""
    fields = dict(name=name, **extra)
    return _build(
        _ITEM, fields, version=version, response_mode=response_mode, idempotency_key=idempotency_key
    )


def journal_entry(
    *,
    transaction_date: str | dt.date | None = None,
    currency_code: str | None = None,
    line_items: Sequence[Mapping[str, Any]] | None = None,
    version: str | None = None,
    response_mode: str | None = None,
    idempotency_key: str | None = None,
    **extra: Any,
) -> ApiRequest:
    """Create a journal entry (``POST /accounting/journal_entries``); each line needs
    ``account_id`` and ``total_amount``."""
    fields = dict(
        transaction_date=transaction_date,
        currency_code=currency_code,
        line_items=line_items,
        **extra,
    )
    return _build(
        _JOURNAL_ENTRY,
        fields,
        version=version,
        response_mode=response_mode,
        idempotency_key=idempotency_key,
    )


def invoice_payment(
    *,
    account_id: str | None = None,
    customer_id: str | None = None,
    txn_date: str | dt.date | None = None,
    currency_code: str | None = None,
    total_amount: float | int | str | Decimal | None = None,
    linked_invoices: Sequence[Mapping[str, Any]] | None = None,
    version: str | None = None,
    response_mode: str | None = None,
    idempotency_key: str | None = None,
    **extra: Any,
) -> ApiRequest:
    """Record a payment against invoices (``POST /accounting/invoice_payments``)."""
    fields = dict(
        account_id=account_id,
        customer_id=customer_id,
        txn_date=txn_date,
        currency_code=currency_code,
        total_amount=total_amount,
        linked_invoices=linked_invoices,
        **extra,
    )
    return _build(
        _INVOICE_PAYMENT,
        fields,
        version=version,
        response_mode=response_mode,
        idempotency_key=idempotency_key,
    )


def product(
    *,
    name: str | None = None,
    description: str | None = None,
    variants: Sequence[Mapping[str, Any]] | None = None,
    version: str | None = None,
    response_mode: str | None = None,
    idempotency_key: str | None = None,
    **extra: Any,
) -> ApiRequest:
    """Create a commerce product (``POST /products``); each variant needs ``price``,
    ``sku`` and ``option_values``."""
    fields = dict(name=name, description=description, variants=variants, **extra)
    return _build(
        _PRODUCT,
        fields,
        version=version,
        response_mode=response_mode,
        idempotency_key=idempotency_key,
    )
