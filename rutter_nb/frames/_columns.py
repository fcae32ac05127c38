"""Turn one column of raw JSON values into a typed pandas array, once per column.

Each kind has one dtype whatever the values are, and a value that does not fit its kind
becomes the kind's missing value instead of raising:

========== ============================== =====================================
kind       dtype                          missing value / what becomes missing
========== ============================== =====================================
str        ``str`` (pandas 3) / ``string`` NaN (pandas 3) or NA; dicts and lists
money      ``float64`` (``money="str"``:   NaN; text that is not a number
           the str kind)
number     ``float64``                    NaN; text that is not a number
int        ``Int64``                      NA; non-integral numbers, text
bool       ``boolean``                    NA; anything but true/false
datetime   ``datetime64[us, UTC]``        NaT; unparsable text, numbers
status     ``category`` (fixed order)     NaN; unknown statuses are kept and
                                          appended to the categories
list       ``object`` (the list itself)   None; anything that is not a list
object     ``object`` (the value itself)  None
========== ============================== =====================================

Naive timestamps are taken to be UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from rutter_nb.frames._schema import KNOWN_STATUSES, Kind

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["all_missing", "datetimes_from_arrow", "string_dtype", "to_array"]


def string_dtype() -> pd.StringDtype:
    """pandas 3's default ``str`` dtype, or the nullable ``string`` dtype on pandas 2."""
    import pandas as pd

    if int(pd.__version__.split(".", 1)[0]) >= 3:
        return pd.StringDtype(na_value=np.nan)
    return pd.StringDtype()


def _object_array(values: Sequence[Any]) -> np.ndarray[Any, np.dtype[np.object_]]:
    # np.array() would turn equal-length lists into a 2-D array; fromiter never does.
    return np.fromiter(values, dtype=object, count=len(values))


def _to_str(values: Sequence[Any]) -> Any:
    import pandas as pd

    dtype = string_dtype()
    if _arrow_strings(dtype):
        import pyarrow as pa

        try:  # C speed when every value is text or None, the usual case
            return pd.array(pa.array(values, type=pa.large_string()), dtype=dtype)
        except (pa.ArrowException, TypeError, ValueError):
            pass
    if _arrow_strings(dtype) or not all(type(v) is str or v is None for v in values):
        values = [_as_text(v) for v in values]
    return pd.array(_object_array(values), dtype=dtype)


def _as_text(value: Any) -> str | None:
    """A text cell: text as it is, a number written out, anything else missing.

    Lone surrogates (which UTF-8, hence Arrow, cannot hold) become U+FFFD, and an integer
    too long to write out becomes missing, rather than either raising.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return str(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # more digits than sys.get_int_max_str_digits() allows
            return None
    return None


def _arrow_strings(dtype: pd.StringDtype) -> bool:
    return dtype.storage == "pyarrow"


def _to_float(values: Sequence[Any]) -> Any:
    import pandas as pd

    parsed_by_arrow = _arrow_cast(values, "float")
    if parsed_by_arrow is not None:  # decimal strings (2023-03-14 money)
        return parsed_by_arrow.to_numpy(zero_copy_only=False)
    try:
        if bool not in set(map(type, values)):  # numpy would read True as 1.0
            return np.array(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        pass
    cleaned = [_numeric(v) for v in values]
    series = pd.Series(_object_array(cleaned), dtype=object)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)


def _numeric(value: Any) -> Any:
    """Text or a number that fits a float, for ``pd.to_numeric``; anything else None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:  # beyond the largest float: missing, like unparsable text
            return None
    return value


def _to_int(values: Sequence[Any]) -> Any:
    import pandas as pd

    try:
        if set(map(type, values)) <= {int, type(None)}:
            # an int beyond int64 fails here (then is cleaned below): numpy's cast warning
            # on the way would only alarm the user
            with np.errstate(invalid="ignore"):
                return pd.array(values, dtype="Int64")
    except (TypeError, ValueError, OverflowError):
        pass
    cleaned: list[int | None] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            cleaned.append(None)
        elif isinstance(v, float):
            cleaned.append(int(v) if v.is_integer() and abs(v) < 2**63 else None)
        else:
            cleaned.append(v if -(2**63) <= v < 2**63 else None)
    return pd.array(cleaned, dtype="Int64")


def _to_bool(values: Sequence[Any]) -> Any:
    import pandas as pd

    cleaned = [v if type(v) is bool else None for v in values]
    return pd.array(cleaned, dtype="boolean")


def _arrow_cast(values: Sequence[Any], target: str) -> Any:
    """Parse a column of text with Arrow (C speed), or None if pyarrow is missing or any
    value is not text or does not parse: the caller then takes the slower, lenient path."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return None
    to = pa.timestamp("us", tz="UTC") if target == "timestamp" else pa.float64()
    try:
        return pc.cast(pa.array(values, type=pa.string()), to)
    except (pa.ArrowException, TypeError, ValueError):
        return None


def datetimes_from_arrow(strings: Any) -> Any:
    """The tz-aware datetimes of an Arrow text array, or None if a value does not parse."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        parsed = pc.cast(strings, pa.timestamp("us", tz="UTC"))
    except (pa.ArrowException, TypeError, ValueError):
        return None
    return pd.Series(parsed.to_pandas()).dt.as_unit("us").array


def _to_datetime(values: Sequence[Any]) -> Any:
    import pandas as pd

    parsed_by_arrow = _arrow_cast(values, "timestamp")
    if parsed_by_arrow is not None:  # ISO 8601 with a zone, as Rutter and Job.to_dict send
        return pd.Series(parsed_by_arrow.to_pandas()).dt.as_unit("us").array
    cleaned: Any = [v if type(v) is str or isinstance(v, datetime) else None for v in values]
    parsed = pd.to_datetime(cleaned, utc=True, format="ISO8601", errors="coerce")
    return parsed.as_unit("us").array


def _to_status(values: Sequence[Any]) -> Any:
    import pandas as pd

    try:
        distinct = set(values)
    except TypeError:  # an unhashable value (a dict, a list): clean first
        distinct = None
    if distinct is None or not all(
        v is None or (type(v) is str and v == _as_text(v)) for v in distinct
    ):
        values = [_as_text(v) if type(v) is str else None for v in values]
        distinct = set(values)
    extra = sorted(distinct - set(KNOWN_STATUSES) - {None})
    categories = [*KNOWN_STATUSES, *extra]
    code = {name: i for i, name in enumerate(categories)}
    # a few distinct statuses: map them to codes in C instead of letting pandas factorize
    codes = np.fromiter(map(code.get, values, repeat(-1)), dtype=np.int64, count=len(values))
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories))


def _to_list(values: Sequence[Any]) -> Any:
    if not set(map(type, values)) <= {list, type(None)}:
        values = [v if type(v) is list else None for v in values]
    return _object_array(values)


def to_array(values: Sequence[Any], kind: Kind, *, money: str = "float") -> Any:
    """A pandas-ready array of ``kind``'s dtype holding ``values`` (None for missing)."""
    if kind == "money":
        kind = "number" if money == "float" else "str"
    if kind == "str":
        return _to_str(values)
    if kind == "number":
        return _to_float(values)
    if kind == "int":
        return _to_int(values)
    if kind == "bool":
        return _to_bool(values)
    if kind == "datetime":
        return _to_datetime(values)
    if kind == "status":
        return _to_status(values)
    if kind == "list":
        return _to_list(values)
    return _object_array(values)


def all_missing(n: int, kind: Kind, *, money: str = "float") -> Any:
    """An array of ``n`` missing values of ``kind``'s dtype, without a per-row loop.

    Wide frames are mostly such columns (every declared field of every entity), so they
    are built from masks, never from ``n`` Python objects.
    """
    import pandas as pd

    if kind == "money":
        kind = "number" if money == "float" else "str"
    if kind == "number":
        return np.full(n, np.nan)
    if kind == "str":
        dtype = string_dtype()
        if _arrow_strings(dtype):
            import pyarrow as pa

            return pd.array(pa.nulls(n, pa.large_string()), dtype=dtype)
        return pd.array(np.full(n, None, dtype=object), dtype=dtype)
    if kind == "int":
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    if kind == "bool":
        return pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    if kind == "datetime":
        return pd.DatetimeIndex(np.full(n, np.datetime64("NaT", "us"))).tz_localize("UTC").array
    if kind == "status":
        codes = np.full(n, -1, dtype=np.int64)
        return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(list(KNOWN_STATUSES)))
    return np.full(n, None, dtype=object)
