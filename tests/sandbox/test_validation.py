"""The stage-one schema check reports the first problem with its path."""

from __future__ import annotations

from rutter_nb.sandbox.validation import first_error

SCHEMA = {
    "type": "object",
    "required": ["name", "lines"],
    "properties": {
        "name": {"type": "string"},
        "date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}"},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "lines": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["amount"],
                "properties": {"amount": {"type": "number"}},
            },
        },
        "meta": {"type": "object", "minProperties": 1},
    },
}
GOOD = {"name": "n", "lines": [{"amount": 1}], "date": "2024-01-02T00:00:00Z", "kind": "a"}


def test_valid_value_has_no_error() -> None:
    assert first_error(GOOD, SCHEMA) is None
    assert first_error({**GOOD, "extra": object()}, SCHEMA) is None


def test_problems_name_their_path() -> None:
    cases = {
        "name: required field is missing": {"lines": [{"amount": 1}]},
        "name: expected string, got integer": {**GOOD, "name": 5},
        "lines: needs at least 1 item(s)": {**GOOD, "lines": []},
        "lines[0].amount: expected number, got string": {**GOOD, "lines": [{"amount": "1"}]},
        "lines[1].amount: required field is missing": {**GOOD, "lines": [{"amount": 1}, {}]},
        "kind: must be one of a, b": {**GOOD, "kind": "c"},
        "meta: needs at least 1 field(s)": {**GOOD, "meta": {}},
        "body: expected object, got array": [],
    }
    for message, value in cases.items():
        assert first_error(value, SCHEMA) == message
    assert "does not match" in str(first_error({**GOOD, "date": "soon"}, SCHEMA))


def test_booleans_are_not_numbers_and_null_counts_as_missing() -> None:
    assert first_error({**GOOD, "lines": [{"amount": True}]}, SCHEMA) is not None
    assert first_error({**GOOD, "name": None}, SCHEMA) == "name: required field is missing"
    assert first_error({**GOOD, "kind": None}, SCHEMA) == "kind: expected string, got null"
    assert first_error(None, {"type": ["string", "null"]}) is None
    assert first_error(3.0, {"type": "integer"}) is None
    assert first_error(3.5, {"type": "integer"}) is not None
