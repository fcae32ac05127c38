"""Save frames to Parquet and read them back with the same dtypes and the same cells.

pyarrow (extra ``parquet``) keeps pandas dtypes (nullable ints, tz-aware timestamps,
``str``) through its pandas metadata, and categories unless the column is empty (so they
are stored here too). What it cannot keep is a cell holding a
Python list or dict (nested lists of line items, say): Arrow would turn them into structs
and back into arrays of dicts with missing keys filled in. So object columns are stored as
JSON text and listed in the file's metadata, and :func:`read_parquet` decodes them.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from rutter_nb.frames._columns import _as_text
from rutter_nb.frames._extras import MissingExtraError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_parquet", "to_parquet"]

_META_KEY = b"rutter_nb.frames"


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingExtraError("Parquet needs pyarrow: pip install 'rutter_nb[parquet]'") from exc
    return pa, pq


def _encode(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, separators=(",", ":"))


def to_parquet(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a frame (from this module) to ``path``; object cells are kept as JSON.

    >>> to_parquet(jobs_frame(batch), "jobs.parquet")  # doctest: +SKIP
    """
    import pandas as pd

    pa, pq = _pyarrow()
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"to_parquet needs a pandas DataFrame, not {type(frame).__name__}")
    json_columns = [str(c) for c in frame.columns if frame[c].dtype == object]
    encoded = frame.copy(deep=False)
    for name in json_columns:
        encoded[name] = pd.array([_encode(v) for v in frame[name]], dtype=object)
    try:
        table = pa.Table.from_pandas(encoded, preserve_index=False)
    except UnicodeEncodeError:  # a lone surrogate in Python-backed text (pandas 2)
        table = pa.Table.from_pandas(_utf8_text(encoded), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    categories = {
        str(c): [str(v) for v in frame[c].cat.categories]
        for c in frame.columns
        if isinstance(frame[c].dtype, pd.CategoricalDtype)
    }
    # Arrow drops the categories of an empty or all-missing column: keep them ourselves.
    meta[_META_KEY] = json.dumps({"json_columns": json_columns, "categories": categories}).encode()
    pq.write_table(table.replace_schema_metadata(meta), os.fspath(path))


def _utf8_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text columns made storable: lone surrogates become U+FFFD.

    Arrow-backed text never holds one (the frames replace them when they are built), but
    pandas 2's Python-backed text does, and UTF-8 cannot encode it. Only this rare retry
    pays for checking every cell.
    """
    import pandas as pd

    cleaned = frame.copy(deep=False)
    for name in cleaned.columns:
        dtype = cleaned[name].dtype
        if isinstance(dtype, pd.StringDtype):
            values = [_as_text(v) if isinstance(v, str) else None for v in cleaned[name]]
            cleaned[name] = pd.Series(values, index=cleaned.index, dtype=dtype)
    return cleaned


def read_parquet(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a file written by :func:`to_parquet`, restoring dtypes and object cells."""
    import numpy as np
    import pandas as pd

    _pa, pq = _pyarrow()
    table = pq.read_table(os.fspath(path))
    meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
    frame: pd.DataFrame = table.to_pandas()
    for name in meta.get("json_columns", []):
        decoded = [None if v is None or v != v else json.loads(v) for v in frame[name]]
        frame[name] = np.fromiter(decoded, dtype=object, count=len(decoded))
    for name, categories in meta.get("categories", {}).items():
        frame[name] = frame[name].astype(pd.CategoricalDtype(categories))
    return frame
