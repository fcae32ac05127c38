"""The optional C reader (``_reader.c``): declared fields read straight into typed arrays.

Building a frame is bound by memory latency: the Python reader touches every value object
three times (incref into a list, read when typed, decref when the list goes), the C reader
once. It is used when it was compiled and pandas stores text in Arrow (pandas 3 with
pyarrow); otherwise, and for any column whose values do not fit its dtype plainly, the
Python reader (``_extract``) reads, so the two always give the same frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rutter_nb.frames._columns import datetimes_from_arrow, string_dtype
from rutter_nb.frames._schema import Kind, Tree, leaves

try:
    from rutter_nb.frames import _reader
except ImportError:  # not compiled (no C compiler at install): the Python reader reads
    _reader = None  # type: ignore[assignment]

__all__ = ["Ready", "available", "has_missing", "plain_rows", "raw_column", "read"]

Spec = tuple[tuple[Any, ...], ...]
_specs: dict[str, tuple[Spec, list[str], list[str]]] = {}
_MODES: dict[str, bytes] = {
    "str": b"S",
    "datetime": b"S",
    "number": b"F",
    "int": b"I",
    "bool": b"B",
}


class Ready:
    """A column the C reader has already typed (``typed`` passes its array through)."""

    __slots__ = ("array",)

    def __init__(self, array: Any) -> None:
        self.array = array


def available() -> bool:
    """True when the C reader is compiled and text columns are Arrow-backed."""
    if _reader is None:
        return False
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return string_dtype().storage == "pyarrow"


def _spec(tree: Tree, keep: frozenset[str]) -> tuple[Spec, list[str], list[str]]:
    """The reader's spec for a tree: nested ``(key, column)`` entries with the leaves
    numbered in declaration order, then the objects at the ``keep`` paths after them."""
    cache_key = repr((tree, sorted(keep)))
    cached = _specs.get(cache_key)
    if cached is not None:
        return cached
    names = [name for name, _kind in leaves(tree)]
    column = {name: index for index, name in enumerate(names)}
    objects: list[str] = []

    def build(node: Tree, prefix: str) -> Spec:
        entries: list[tuple[Any, ...]] = []
        for key, sub in node.items():
            path = prefix + key
            if isinstance(sub, dict):
                slot = -1
                if path in keep:
                    slot = len(names) + len(objects)
                    objects.append(path)
                entries.append((key, build(sub, path + "."), slot))
            else:
                entries.append((key, column[path]))
        return tuple(entries)

    result = (build(tree, ""), names, objects)
    if len(_specs) < 64:
        _specs[cache_key] = result
    return result


def plain_rows(rows: list[Any]) -> bool | None:
    """Whether every row is a job dict with a distinct text id and no webhook envelope
    (None when the C reader is not compiled: ask the Python check)."""
    if _reader is None:
        return None
    return _reader.plain_rows(rows, "id", "type")


def has_missing(array: Any) -> bool:
    """Whether a typed column has a missing value (NaN, NaT or NA)."""
    if isinstance(array, np.ndarray):
        return bool(np.isnan(array).any())
    return bool(array.isna().any())


def _mode(kind: Kind, money: str) -> bytes:
    if kind == "money":
        return b"M" if money == "float" else b"S"
    return _MODES.get(kind, b"O")


def _strings(buffers: tuple[Any, Any, bytes, int], n: int) -> Any:
    import pyarrow as pa

    validity, offsets, data, nulls = buffers
    bitmap = None if validity is None else pa.py_buffer(validity)
    return pa.Array.from_buffers(
        pa.large_string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=nulls
    )


def _typed(result: Any, kind: Kind, money: str, n: int) -> Any:
    """The pandas array of a column the C reader filled, or None to read it in Python."""
    import pandas as pd

    mode = _mode(kind, money)
    if mode in (b"F", b"M"):
        return np.frombuffer(result, dtype=np.float64)
    if mode == b"I":
        values, mask = result
        return pd.arrays.IntegerArray(
            np.frombuffer(values, dtype=np.int64), np.frombuffer(mask, dtype=np.bool_)
        )
    if mode == b"B":
        values, mask = result
        return pd.arrays.BooleanArray(
            np.frombuffer(values, dtype=np.bool_), np.frombuffer(mask, dtype=np.bool_)
        )
    strings = _strings(result, n)
    if kind == "datetime":
        return datetimes_from_arrow(strings)
    return pd.array(strings, dtype=string_dtype())


def raw_column(rows: Sequence[Any], path: str, empty: dict[str, Any]) -> list[Any]:
    """One leaf's raw values, read in Python by the Python reader's rules (rows and
    objects that are not dicts read as empty)."""
    *parents, last = path.split(".")
    dicts = [r if r.__class__ is dict else empty for r in rows]
    for key in parents:
        dicts = [r if r.__class__ is dict else empty for r in (d.get(key) for d in dicts)]
    return [d.get(last) for d in dicts]


def read(
    rows: list[dict[str, Any]],
    tree: Tree,
    kinds: dict[str, Kind],
    money: str,
    keep: frozenset[str],
    empty: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Every leaf of ``tree`` (dotted name -> ``Ready`` array, or raw list for leaves not
    in ``kinds``) and the objects at the ``keep`` paths of each row."""
    spec, names, objects = _spec(tree, keep)
    modes = b"".join(_mode(kinds[name], money) if name in kinds else b"O" for name in names)
    results = _reader.read_columns(rows, spec, modes + b"O" * len(objects), empty)
    n = len(rows)
    found: dict[str, Any] = {}
    for name, result, mode in zip(names, results, modes, strict=False):
        if mode == ord("O"):
            found[name] = result
            continue
        array = None if result is None else _typed(result, kinds[name], money, n)
        if array is None:  # a value that did not fit: the Python reader decides
            found[name] = raw_column(rows, name, empty)
        else:
            found[name] = Ready(array)
    kept = dict(zip(objects, results[len(names) :], strict=True))
    return found, kept
