"""The renderer thread: visits views, drops final and broken ones, exits when idle."""

from __future__ import annotations

import threading
import time

import pytest

from rutter_nb.widgets.render import Renderer, default_renderer


class CountingView:
    def __init__(self, ticks_until_final: int | None = None, fail: bool = False) -> None:
        self.ticks = 0
        self.until = ticks_until_final
        self.fail = fail
        self.final = threading.Event()

    def _tick(self) -> bool:
        self.ticks += 1
        if self.fail:
            raise RuntimeError("boom")
        if self.until is not None and self.ticks >= self.until:
            self.final.set()
            return False
        return True


def test_views_are_visited_until_final_then_the_thread_exits() -> None:
    renderer = Renderer(interval=0.01)
    view = CountingView(ticks_until_final=3)
    renderer.add(view)
    assert view.final.wait(10)
    renderer.join(timeout=10)
    assert view.ticks == 3
    assert view not in renderer and not renderer.running


def test_a_broken_view_is_dropped_and_the_others_go_on() -> None:
    renderer = Renderer(interval=0.01)
    broken, healthy = CountingView(fail=True), CountingView(ticks_until_final=5)
    renderer.add(broken)
    renderer.add(healthy)
    assert healthy.final.wait(10)
    renderer.join(timeout=10)
    assert broken.ticks == 1 and healthy.ticks == 5


def test_visits_are_spaced_by_the_interval() -> None:
    renderer = Renderer(interval=0.2)
    view = CountingView()
    renderer.add(view)
    time.sleep(1.0)
    renderer.remove(view)
    renderer.join(timeout=10)
    assert 1 <= view.ticks <= 1.0 / 0.2 + 1


def test_one_shared_renderer_and_a_clear_error_for_a_bad_interval() -> None:
    assert default_renderer() is default_renderer()
    with pytest.raises(ValueError, match="interval"):
        Renderer(interval=0)
