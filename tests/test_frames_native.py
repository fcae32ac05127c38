"""The frames' C reader: the same frames as the Python reader, whatever the values are.

The Python reader is the reference; the C reader must give equal frames (same columns,
dtypes and values) on good data, on odd data (values of the wrong type, non-dict objects,
missing keys), and must not leak or crash on any input.
"""

from __future__ import annotations

import copy
import gc
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from frames_readers import require_c_reader, use_reader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rutter_nb.frames import (
    _native,
    errors_frame,
    jobs_frame,
    records_frame,
    sample_jobs,
    to_frames,
)
from rutter_nb.frames._extract import _job_tree
from rutter_nb.frames._schema import leaves

pytestmark = pytest.mark.usefixtures("c_reader")


@pytest.fixture
def c_reader() -> None:
    require_c_reader()


def both(build: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """What ``build()`` gives with the C reader, then with the Python reader."""
    with monkeypatch.context() as patch:
        use_reader("c", patch)
        fast = build()
    with monkeypatch.context() as patch:
        use_reader("python", patch)
        slow = build()
    return fast, slow


def assert_same_frames(fast: Any, slow: Any) -> None:
    if isinstance(fast, pd.DataFrame):
        pd.testing.assert_frame_equal(fast, slow)
        return
    pd.testing.assert_frame_equal(fast.jobs, slow.jobs)
    pd.testing.assert_frame_equal(fast.errors, slow.errors)
    assert fast.records.keys() == slow.records.keys()
    for path in fast.records:
        pd.testing.assert_frame_equal(fast.records[path], slow.records[path])


def test_jobs_frame_is_read_by_the_c_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = _native._reader.read_columns

    def spy(rows: list[Any], *args: Any) -> list[Any]:
        calls.append(len(rows))
        return real(rows, *args)

    monkeypatch.setattr(_native._reader, "read_columns", spy)
    jobs_frame(sample_jobs(30, seed=1), entities="invoice")
    records_frame(sample_jobs(30, seed=1), "request.invoice.line_items")

    assert calls == [30, 150]
    calls.clear()

    jobs_frame(sample_jobs(30, seed=1))  # every entity: first, which ones are present

    assert calls == [30, 30]


@pytest.mark.parametrize("version", ["2023-03-14", "2024-08-31"])
@pytest.mark.parametrize("money", ["float", "str"])
def test_both_readers_give_the_same_frames_of_sample_jobs(
    version: str, money: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = sample_jobs(500, failure_rate=0.2, seed=3, version=version)

    fast, slow = both(lambda: to_frames(jobs, money=money), monkeypatch)

    assert_same_frames(fast, slow)
    assert len(fast.jobs) == 500 and fast.errors["source"].eq("job").all()


# --- odd values: each leaf may hold anything JSON (and Python) can -----------------------

ODD_VALUES = [
    None,
    True,
    False,
    0,
    -7,
    2**63,
    -(2**63) - 1,
    10**400,
    10**5000,
    1.5,
    2.0,
    float("nan"),
    float("inf"),
    "",
    "text",
    "12.50",
    "-0.5",
    "1e5",
    " 12",
    "2026-01-05T09:00:00.000Z",
    "2026-01-05",
    "héllo wörld",
    "\ud800",
    [],
    ["x", 1],
    {},
    {"nested": "object"},
    np.float64(2.5),
    np.int64(3),
    b"bytes",
]
BASE_JOBS = sample_jobs(8, line_items=2, failure_rate=0.25, seed=11)
JOB_TREE = _job_tree(("invoice", "bill"))
LEAF_PATHS = [name.split(".") for name, _kind in leaves(JOB_TREE)]
OBJECT_PATHS = [
    ["request"],
    ["response"],
    ["client"],
    ["request", "body"],
    ["response", "body"],
    ["request", "body", "invoice"],
    ["response", "body", "invoice"],
]


def _set(job: dict[str, Any], path: list[str], value: Any) -> None:
    node = job
    for key in path[:-1]:
        inner = node.get(key)
        if type(inner) is not dict:
            inner = node[key] = {}
        node = inner
    node[path[-1]] = value


edits = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(LEAF_PATHS), st.sampled_from(ODD_VALUES)),
        st.tuples(st.sampled_from(OBJECT_PATHS), st.sampled_from(ODD_VALUES)),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(st.tuples(st.integers(0, 7), edits), max_size=8))
def test_odd_values_give_the_same_frames_with_both_readers(
    changes: list[tuple[int, list[tuple[list[str], Any]]]],
) -> None:
    jobs = copy.deepcopy(BASE_JOBS)
    for index, edit in changes:
        for path, value in edit:
            _set(jobs[index], path, value)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for build in (
            lambda: jobs_frame(jobs, entities=("invoice", "bill")),
            lambda: jobs_frame(jobs, money="str"),
            lambda: errors_frame(jobs),
            lambda: records_frame(jobs, "response.invoice.line_items"),
        ):
            fast, slow = both(build, monkeypatch)
            assert_same_frames(fast, slow)


def test_a_value_of_another_type_is_read_by_the_python_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs = sample_jobs(3, seed=4)
    jobs[1]["request"]["body"]["invoice"]["customer_id"] = 42  # a number in a text column
    jobs[2]["client"]["polls"] = 3.0  # an integral float in an integer column
    jobs[0]["response"]["body"]["invoice"]["total_amount"] = "n/a"  # text that is no number

    fast, slow = both(lambda: jobs_frame(jobs, entities="invoice"), monkeypatch)

    assert_same_frames(fast, slow)
    assert fast.loc[1, "request.invoice.customer_id"] == "42"
    assert fast.loc[2, "polls"] == 3
    assert np.isnan(fast.loc[0, "response.invoice.total_amount"])


def test_number_columns_are_writable(monkeypatch: pytest.MonkeyPatch) -> None:
    use_reader("c", monkeypatch)
    frame = jobs_frame(sample_jobs(5, seed=2), entities="invoice")

    frame.loc[0, "response.invoice.total_amount"] = 1.0
    frame.loc[0, "polls"] = 9

    assert frame.loc[0, "response.invoice.total_amount"] == 1.0 and frame.loc[0, "polls"] == 9


# --- the C module's own contract --------------------------------------------------------


class Row(dict):  # type: ignore[type-arg]
    """A dict subclass: not a plain row."""


@pytest.mark.parametrize(
    "rows",
    [
        [{"id": "a"}, {"id": "b"}],
        [{"id": "a"}, {"id": "a"}],
        [{"id": "a"}, {"id": 2}],
        [{"id": "a"}, {"no": "id"}],
        [{"id": "a"}, {"id": "b", "type": "JOB"}],
        [{"id": "a"}, Row(id="b")],
        [{"id": "a"}, "text"],
        [{"id": f"job-{i}"} for i in range(1_000)],
        [{"id": f"job-{i % 999}"} for i in range(1_000)],
    ],
)
def test_plain_rows_agrees_with_the_python_check(
    rows: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rutter_nb.frames._source import _plain_unique

    fast, slow = both(lambda: _plain_unique(rows), monkeypatch)

    assert fast is slow


def test_each_mode_fills_its_buffers() -> None:
    reader = _native._reader
    rows: list[Any] = [
        {"s": "ab", "f": 1.5, "m": "2.25", "i": 7, "b": True, "o": [1]},
        {"s": None, "f": 3, "m": 4, "i": None, "b": None},
        "not a dict",
    ]
    spec = (("s", 0), ("f", 1), ("m", 2), ("i", 3), ("b", 4), ("o", 5))

    s, f, m, i, b, o = reader.read_columns(rows, spec, b"SFMIBO")

    validity, offsets, data, nulls = s
    assert (bytes(validity)[0] & 0b111, nulls, data) == (0b001, 2, b"ab")
    assert np.frombuffer(offsets, dtype=np.int64).tolist() == [0, 2, 2, 2]
    assert np.frombuffer(f, dtype=np.float64)[:2].tolist() == [1.5, 3.0]
    assert np.frombuffer(m, dtype=np.float64)[:2].tolist() == [2.25, 4.0]
    assert np.isnan(np.frombuffer(f, dtype=np.float64)[2])
    assert np.frombuffer(i[0], dtype=np.int64)[0] == 7
    assert np.frombuffer(i[1], dtype=np.bool_).tolist() == [False, True, True]
    assert np.frombuffer(b[1], dtype=np.bool_).tolist() == [False, True, True]
    assert o == [[1], None, None]


@pytest.mark.parametrize(
    ("mode", "value"),
    [
        (b"S", 5),
        (b"F", "5"),
        (b"F", True),
        (b"M", "1e5"),
        (b"I", 2.0),
        (b"I", True),
        (b"I", 2**64),
        (b"B", 1),
        (b"S", "\ud800"),
    ],
)
def test_a_value_that_does_not_fit_gives_up_the_column(mode: bytes, value: Any) -> None:
    rows = [{"x": None}, {"x": value}]

    assert _native._reader.read_columns(rows, (("x", 0),), mode) == [None]


def test_nested_objects_and_kept_objects() -> None:
    empty: dict[str, Any] = {}
    body = {"a": "x"}
    rows: list[Any] = [{"body": body}, {"body": "text"}, {}]
    spec = (("body", (("a", 0),), 1),)

    text, kept = _native._reader.read_columns(rows, spec, b"SO", empty)

    assert text[2] == b"x" and text[3] == 2
    assert kept[0] is body and kept[1] is empty and kept[2] is empty


@pytest.mark.parametrize(
    ("spec", "modes", "error"),
    [
        ((("x", 1),), b"O", ValueError),
        ((("x", -1),), b"O", ValueError),
        ((("x",),), b"O", TypeError),
        (((1, 0),), b"O", TypeError),
        ((("x", ((("y", 0),),), 5),), b"O", ValueError),
        ((("x", 0),), b"Z", ValueError),
        ((("x", "0"),), b"O", ValueError),
    ],
)
def test_a_bad_spec_is_an_error_not_a_crash(spec: Any, modes: bytes, error: type) -> None:
    with pytest.raises(error):
        _native._reader.read_columns([{"x": 1}], spec, modes)


def test_rows_must_be_a_list() -> None:
    with pytest.raises(TypeError):
        _native._reader.read_columns(({"x": 1},), (("x", 0),), b"O")  # type: ignore[arg-type]


def test_reading_leaks_no_references() -> None:
    value = "a value only these rows hold " + str(id(object()))
    inner = {"v": value}
    rows = [{"o": inner, "s": value} for _ in range(1_000)]
    spec = (("o", (("v", 0),), 1), ("s", 2))
    before = (sys.getrefcount(value), sys.getrefcount(inner))

    for modes in (b"OOO", b"SOS", b"FOI"):
        for _ in range(3):
            result = _native._reader.read_columns(rows, spec, modes, {})
            del result
    ids = [{"id": value}, {"id": value}, {"id": "x", "type": "JOB"}]
    for _ in range(3):
        assert not _native._reader.plain_rows(ids, "id", "type")
        assert _native._reader.plain_rows(ids[:1], "id", "type")
    del ids
    gc.collect()

    assert (sys.getrefcount(value), sys.getrefcount(inner)) == before
