"""plot_latency and plot_timeline draw what the frame holds; matplotlib is needed only then."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import matplotlib
import pytest

from rutter_nb.frames import MissingExtraError, jobs_frame, sample_jobs
from rutter_nb.frames.plots import STATUS_COLORS, plot_latency, plot_timeline

matplotlib.use("Agg")

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def test_latency_histogram_stacks_every_timed_job_by_status() -> None:
    frame = jobs_frame(sample_jobs(200, failure_rate=0.25, seed=31), entities="invoice")

    ax = plot_latency(frame, bins=20)

    heights = sum(patch.get_height() for patch in ax.patches)
    assert heights == pytest.approx(len(frame))
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["success", "failure"]
    assert ax.get_xlabel() == "duration (s)"


def test_timeline_draws_one_bar_per_job_coloured_by_status() -> None:
    jobs = sample_jobs(30, failure_rate=0.3, seed=32)
    frame = jobs_frame(jobs, entities="invoice")

    ax = plot_timeline(frame)

    assert len(ax.patches) == 30
    failures = sum(j["status"] == "failure" for j in jobs)
    red = mcolors.to_rgba(STATUS_COLORS["failure"])
    assert sum(patch.get_facecolor() == red for patch in ax.patches) == failures
    widths_days = [patch.get_width() for patch in ax.patches]
    durations = frame.sort_values("submitted_at")["duration_s"].tolist()
    assert [w * 86_400 for w in widths_days] == pytest.approx(durations, abs=1e-3)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert sorted(labels) == ["failure", "success"]


def test_timeline_respects_its_limit_and_draws_into_a_given_axes() -> None:
    frame = jobs_frame(sample_jobs(50, seed=33), entities="invoice")
    _fig, ax = plt.subplots()

    returned = plot_timeline(frame, limit=10, ax=ax)

    assert returned is ax
    assert len(ax.patches) == 10
    with pytest.raises(ValueError, match="limit must be positive"):
        plot_timeline(frame, limit=0)


def test_plots_of_an_empty_batch_draw_empty_axes() -> None:
    assert len(plot_latency([]).patches) == 0
    assert len(plot_timeline([]).patches) == 0


def test_without_matplotlib_a_plot_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)

    with pytest.raises(MissingExtraError, match=r"rutter_nb\[plot\]"):
        plot_latency([])
