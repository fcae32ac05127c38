"""errors: one class per failure, all carrying Rutter's fields and scrubbed text."""

from __future__ import annotations

import pytest

from rutter_nb import errors
from rutter_nb.redact import register_secret
from rutter_nb.requests import request


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.ValidationError),
        (401, errors.AuthenticationError),
        (404, errors.NotFound),
        (409, errors.IdempotencyConflict),
        (410, errors.NotFound),
        (429, errors.RateLimited),
        (450, errors.PlatformError),
        (452, errors.PlatformRateLimited),
        (500, errors.ServerError),
        (503, errors.ServerError),
        (418, errors.RutterError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[errors.RutterError]) -> None:
    assert errors.error_class_for_status(status) is cls


def test_every_error_is_a_rutter_error() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, errors.RutterError), name


def test_fields_and_message() -> None:
    req = request("POST", "/accounting/invoices", body={"invoice": {}})
    err = errors.ValidationError(
        http_status=400,
        error_type="INVALID_REQUEST",
        error_code="MISSING_FIELD",
        error_message="customer_id is required",
        request=req,
    )
    assert (err.http_status, err.error_type, err.error_code) == (
        400,
        "INVALID_REQUEST",
        "MISSING_FIELD",
    )
    assert str(err) == (
        "HTTP 400 INVALID_REQUEST/MISSING_FIELD: customer_id is required"
        " (POST /accounting/invoices)"
    )
    assert err.to_dict()["class"] == "ValidationError"


def test_messages_are_scrubbed() -> None:
    register_secret("canary-errors-0001")
    err = errors.ServerError(error_message="echo canary-errors-0001", http_status=500)
    assert "canary-errors-0001" not in str(err) + repr(err) + str(err.error_message)


def test_invalid_request_is_also_type_and_value_error() -> None:
    assert issubclass(errors.InvalidRequest, TypeError)
    assert issubclass(errors.InvalidRequest, ValueError)
    assert issubclass(errors.JobTimeout, TimeoutError)
