"""to_parquet/read_parquet keep every dtype and every cell, nested lists included."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rutter_nb.frames import (
    MissingExtraError,
    read_parquet,
    sample_jobs,
    to_frames,
    to_parquet,
)


def round_trip(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    to_parquet(frame, path)
    return read_parquet(path)


def test_all_three_frames_round_trip_with_types_and_nested_cells(tmp_path: Path) -> None:
    frames = to_frames(sample_jobs(40, failure_rate=0.3, seed=41), entities="invoice")

    for name, frame in [
        ("jobs", frames.jobs),
        ("errors", frames.errors),
        ("lines", frames.records["request.invoice.line_items"]),
    ]:
        back = round_trip(frame, tmp_path / f"{name}.parquet")
        pd.testing.assert_frame_equal(back, frame)

    back = read_parquet(tmp_path / "jobs.parquet")
    assert isinstance(back["status"].dtype, pd.CategoricalDtype)
    assert back["request.invoice.line_items"][0] == frames.jobs["request.invoice.line_items"][0]
    assert isinstance(back["request.invoice.line_items"][0], list)


def test_empty_and_all_missing_frames_round_trip(tmp_path: Path) -> None:
    weird: list[dict[str, Any]] = [{}, {"id": "x", "status": "exploded", "request": None}]

    for i, frame in enumerate([to_frames([]).jobs, to_frames(weird).jobs]):
        pd.testing.assert_frame_equal(round_trip(frame, tmp_path / f"{i}.parquet"), frame)


def test_a_lone_surrogate_in_python_backed_text_is_written_as_a_replacement(
    tmp_path: Path,
) -> None:
    # pandas 2 keeps text in Python objects, which can hold what UTF-8 cannot
    text = pd.array(["a\ud800b", None, "fine"], dtype=pd.StringDtype("python"))
    nested = pd.array([{"memo": "x\udc80"}, None, []], dtype=object)
    frame = pd.DataFrame({"memo": text, "lines": nested})

    back = round_trip(frame, tmp_path / "odd.parquet")

    assert back["memo"].tolist()[0] == "a\ufffdb" and pd.isna(back["memo"][1])
    assert back["memo"][2] == "fine"
    assert back["lines"].tolist() == [{"memo": "x\udc80"}, None, []]  # JSON keeps it as is
    assert frame["memo"][0] == "a\ud800b"  # the caller's frame is not changed


def test_to_parquet_refuses_what_is_not_a_frame(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="needs a pandas DataFrame"):
        to_parquet([{"id": "x"}], tmp_path / "x.parquet")  # type: ignore[arg-type]


def test_without_pyarrow_parquet_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)

    with pytest.raises(MissingExtraError, match=r"rutter_nb\[parquet\]"):
        to_parquet(pd.DataFrame({"a": [1]}), tmp_path / "x.parquet")
