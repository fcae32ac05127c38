"""The three frames analysts ask for: jobs, nested records, errors (and all three at once).

Columns are declared (``_schema``), never discovered, so an all-success batch, an
all-failure batch and an empty one have the same columns and dtypes. Missing fields,
``null`` bodies and bodies that are not objects give missing values, never exceptions
(see ``_columns`` for each dtype's missing value); only input that is not jobs at all
raises ``TypeError``, and bad arguments raise ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rutter_nb.frames._columns import to_array
from rutter_nb.frames._extract import (
    Columns,
    dicts_at,
    extra_columns,
    job_values,
    leaves,
    typed,
    walk,
)
from rutter_nb.frames._schema import (
    CORE_COLUMNS,
    ENTITY_BODIES,
    ERROR_COLUMNS,
    LIST_ELEMENTS,
    Kind,
    Tree,
)
from rutter_nb.frames._source import EMPTY, JobsInput, job_dicts, rejected_dicts

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Frames", "errors_frame", "jobs_frame", "record_paths", "records_frame", "to_frames"]

Money = Literal["float", "str"]
Extra = Literal["drop", "keep"]


def _check_money(money: str) -> None:
    if money not in ("float", "str"):
        raise ValueError(f"money must be 'float' or 'str', not {money!r}")


def _entities(entities: str | Iterable[str] | None) -> tuple[str, ...]:
    if entities is None:
        return tuple(ENTITY_BODIES)
    chosen = (entities,) if isinstance(entities, str) else tuple(entities)
    unknown = [e for e in chosen if e not in ENTITY_BODIES]
    if unknown:
        raise ValueError(
            f"no declared schema for {', '.join(map(repr, unknown))}; "
            f"known entities: {', '.join(ENTITY_BODIES)}"
        )
    return chosen


def _frame(columns: Columns, n: int) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(columns, index=pd.RangeIndex(n), copy=False)


def _fill_durations(out: Columns) -> None:
    """Where a job has no recorded duration, derive it from its two timestamps."""
    import numpy as np
    import pandas as pd

    durations = out["duration_s"]
    missing = np.isnan(durations)
    if missing.any():
        completed: Any = pd.Series(out["completed_at"])
        derived = completed - pd.Series(out["submitted_at"])
        seconds = derived.dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
        out["duration_s"] = np.where(missing, seconds, durations)


def _columns(
    jobs: Sequence[dict[str, Any]],
    spec: Sequence[tuple[str, Kind]],
    entities: Sequence[str],
    sides: Sequence[str],
    money: str,
    extra: str = "drop",
    source: Sequence[str] | None = None,
) -> Columns:
    """The typed columns ``spec`` then the flattened bodies of ``sides`` for ``entities``."""
    n = len(jobs)
    core, raw, objects = job_values(jobs, entities, money, typed_core=True)
    if source is not None:
        core["source"] = source
    out: Columns = {name: typed(core[name], n, kind, money) for name, kind in spec}
    if "duration_s" in out:
        _fill_durations(out)
    for side in sides:
        index = 0 if side == "request" else 1
        for entity in entities:
            for leaf, kind in leaves(ENTITY_BODIES[entity][index]):
                raw_name = f"{side}.body.{entity}.{leaf}"
                out[f"{side}.{entity}.{leaf}"] = typed(raw.get(raw_name), n, kind, money)
    if extra == "keep":
        empty = [EMPTY] * n
        requests = objects.get("request.body", empty)
        without_mode = [
            {k: v for k, v in b.items() if k != "response_mode"} if b else b for b in requests
        ]
        responses = objects.get("response.body", empty)
        successes = [EMPTY if ("error_type" in b or "error_code" in b) else b for b in responses]
        declared = set(out)
        extra_columns(without_mode, "request.", declared, out)
        extra_columns(successes, "response.", declared, out)
    return out


def _jobs_columns(
    jobs: Sequence[dict[str, Any]], entities: Sequence[str], money: str, extra: str
) -> Columns:
    return _columns(jobs, CORE_COLUMNS, entities, ("request", "response"), money, extra)


def jobs_frame(
    jobs: JobsInput,
    *,
    entities: str | Iterable[str] | None = None,
    money: Money = "float",
    extra: Extra = "drop",
) -> pd.DataFrame:
    """One row per job (key ``job_id``) with declared, typed columns.

    The job columns come first (``status`` categorical, ``http_status`` nullable integer,
    tz-aware ``submitted_at``/``completed_at``...), then the request and response bodies of
    the ``entities`` (default: every declared one) flattened to dotted columns such as
    ``request.invoice.customer_id``; nested lists stay one cell. ``money="str"`` keeps
    2023-03-14 decimal strings as text; ``extra="keep"`` appends undeclared body fields
    (whose columns then do depend on the data).

    >>> frame = jobs_frame(batch, entities="invoice")          # doctest: +SKIP
    >>> frame[["status", "duration_s", "response.invoice.total_amount"]].head()  # doctest: +SKIP
    """
    _check_money(money)
    if extra not in ("drop", "keep"):
        raise ValueError(f"extra must be 'drop' or 'keep', not {extra!r}")
    chosen = _entities(entities)
    rows = job_dicts(jobs)
    return _frame(_jobs_columns(rows, chosen, money, extra), len(rows))


def _list_tree(path: str) -> tuple[str, list[str], Tree | None]:
    """Validate a records path; return its side, its keys and its declared element tree."""
    if not isinstance(path, str):
        raise TypeError(
            "path must be a dotted string like 'request.invoice.line_items', "
            f"not {type(path).__name__}"
        )
    side, _, rest = path.partition(".")
    keys = rest.split(".") if rest else []
    if side not in ("request", "response") or not keys or "" in keys:
        raise ValueError(
            f"path {path!r} must start with 'request.' or 'response.' and name a list field, "
            "e.g. 'request.invoice.line_items'"
        )
    entity = keys[0]
    if entity in ENTITY_BODIES:
        node: Kind | Tree = ENTITY_BODIES[entity][0 if side == "request" else 1]
        for key in keys[1:]:
            if not isinstance(node, dict) or key not in node:
                return side, keys, None
            node = node[key]
        if node != "list":
            what = node if isinstance(node, str) else "object"
            raise ValueError(f"{path!r} is a declared {what} field, not a list")
        return side, keys, LIST_ELEMENTS.get(keys[-1])
    return side, keys, None


def _infer_kind(values: list[Any]) -> Kind:
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return "object"
    if kinds == {bool}:
        return "bool"
    if kinds == {int}:
        return "int"
    if kinds <= {int, float}:
        return "number"
    if kinds == {str}:
        return "str"
    return "object"


def _records_columns(jobs: list[dict[str, Any]], path: str, money: str) -> tuple[Columns, int]:
    import numpy as np

    side, keys, tree = _list_tree(path)
    bodies = dicts_at(jobs, side, "body")
    if side == "response":  # an error body is not the entity
        bodies = [EMPTY if "error_type" in b else b for b in bodies]
    rows = dicts_at(bodies, *keys[:-1])
    lists = [r.get(keys[-1]) for r in rows]
    job_ids: list[Any] = []
    index: list[int] = []
    elements: list[Any] = []
    for job, items in zip(jobs, lists, strict=True):
        if type(items) is list and items:
            job_ids.extend([job.get("id")] * len(items))
            index.extend(range(len(items)))
            elements.extend(items)
    n = len(elements)
    out: Columns = {
        "job_id": to_array(job_ids, "str"),
        "index": np.array(index, dtype=np.int64),
    }
    dicts = [e if type(e) is dict else EMPTY for e in elements]
    if tree is not None:
        walk(dicts, tree, "", money, out)
        return out, n
    if any(e is not None and type(e) is not dict for e in elements):
        scalars = [None if type(e) is dict else e for e in elements]
        out["value"] = to_array(scalars, _infer_kind(scalars), money=money)
    found: Columns = {}
    extra_columns(dicts, "", set(out), found)
    for name, column in found.items():
        values = list(column)
        out[name] = to_array(values, _infer_kind(values), money=money)
    return out, n


def records_frame(jobs: JobsInput, path: str, *, money: Money = "float") -> pd.DataFrame:
    """One row per element of a nested list, keyed by ``job_id`` and ``index``.

    ``path`` names the list, e.g. ``"request.invoice.line_items"`` or
    ``"response.invoice.line_items"``; each element is flattened to dotted columns. Declared
    lists have declared columns; for other lists the columns are the fields found (sorted).

    >>> lines = records_frame(batch, "request.invoice.line_items")  # doctest: +SKIP
    >>> lines.groupby("job_id")["total_amount"].sum()               # doctest: +SKIP
    """
    _check_money(money)
    _list_tree(path)
    rows = job_dicts(jobs)
    columns, n = _records_columns(rows, path, money)
    return _frame(columns, n)


def _errors_columns(
    jobs: Sequence[dict[str, Any]],
    rejected: Sequence[dict[str, Any]],
    entities: Sequence[str],
    money: str,
) -> tuple[Columns, int]:
    core, _raw, _objects = job_values(jobs, ())
    nothing = (None,) * len(jobs)
    failed = [
        job
        for job, status, etype, ecode in zip(
            jobs,
            core["status"] or nothing,
            core["error_type"] or nothing,
            core["error_code"] or nothing,
            strict=True,
        )
        if status == "failure" or etype is not None or ecode is not None
    ]
    rows = failed + list(rejected)
    source = ["job"] * len(failed) + ["rejected"] * len(rejected)
    return _columns(rows, ERROR_COLUMNS, entities, ("request",), money, source=source), len(rows)


def errors_frame(
    jobs: JobsInput, *, entities: str | Iterable[str] | None = None, money: Money = "float"
) -> pd.DataFrame:
    """One row per failed job or rejected request: the error triple and the request.

    ``source`` is ``"job"`` for a job that failed and ``"rejected"`` for a batch request
    refused before any job existed (``job_id`` is then missing). Error messages are
    scrubbed of secrets.

    >>> errors_frame(batch).groupby(["error_type", "error_code"]).size()  # doctest: +SKIP
    """
    _check_money(money)
    chosen = _entities(entities)
    columns, n = _errors_columns(job_dicts(jobs), rejected_dicts(jobs), chosen, money)
    return _frame(columns, n)


def record_paths(entities: str | Iterable[str] | None = None) -> list[str]:
    """Every declared list path of the entities, e.g. ``request.invoice.line_items``."""
    paths: list[str] = []
    for entity in _entities(entities):
        for side, tree in zip(("request", "response"), ENTITY_BODIES[entity], strict=True):
            paths.extend(
                f"{side}.{entity}.{name}"
                for name, kind in leaves(tree)
                if kind == "list" and name.rsplit(".", 1)[-1] in LIST_ELEMENTS
            )
    return paths


@dataclass(frozen=True)
class Frames:
    """The jobs, errors and records frames of one set of jobs, built from one pass."""

    jobs: pd.DataFrame
    errors: pd.DataFrame
    records: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __repr__(self) -> str:
        parts = ", ".join(f"{p!r}: {len(f)} rows" for p, f in self.records.items())
        sizes = f"jobs={len(self.jobs)} rows, errors={len(self.errors)} rows"
        return f"Frames({sizes}, records={{{parts}}})"


def to_frames(
    jobs: JobsInput,
    *,
    entities: str | Iterable[str] | None = None,
    records: Iterable[str] | None = None,
    money: Money = "float",
    extra: Extra = "drop",
) -> Frames:
    """All three frames at once; ``records`` defaults to every declared list path.

    >>> frames = to_frames(batch, entities="invoice")  # doctest: +SKIP
    >>> frames.records["request.invoice.line_items"]   # doctest: +SKIP
    """
    _check_money(money)
    if extra not in ("drop", "keep"):
        raise ValueError(f"extra must be 'drop' or 'keep', not {extra!r}")
    chosen = _entities(entities)
    paths: list[str] = record_paths(chosen) if records is None else list(records)
    for path in paths:
        _list_tree(path)
    rows = job_dicts(jobs)
    jobs_columns = _jobs_columns(rows, chosen, money, extra)
    err_columns, n_err = _errors_columns(rows, rejected_dicts(jobs), chosen, money)
    frames = {}
    for path in paths:
        columns, n = _records_columns(rows, path, money)
        frames[path] = _frame(columns, n)
    return Frames(
        jobs=_frame(jobs_columns, len(rows)),
        errors=_frame(err_columns, n_err),
        records=frames,
    )
