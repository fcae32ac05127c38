"""TextLine: the rate-limited text fallback where no widget front end exists."""

from __future__ import annotations

import io

from rutter_nb.widgets.terminal import TextLine


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def make(stream: io.StringIO, texts: list[str], final: list[bool], now: list[float]) -> TextLine:
    return TextLine(lambda: texts[-1], lambda: final[0], stream=stream, clock=lambda: now[0])


def test_a_log_gets_at_most_one_line_per_interval_and_always_the_final_one() -> None:
    stream, texts, final, now = io.StringIO(), ["0 done"], [False], [0.0]
    line = make(stream, texts, final, now)
    assert line.interval == 10.0
    assert line._tick()
    for i in range(1, 30):  # 29 changes over 2.9 s
        texts.append(f"{i} done")
        now[0] += 0.1
        assert line._tick()
    final[0] = True
    texts.append("30 done")
    assert not line._tick()
    assert stream.getvalue().splitlines() == ["0 done", "30 done"]
    assert not line._tick() and line.writes == 2


def test_a_terminal_line_is_rewritten_in_place() -> None:
    stream, texts, final, now = Tty(), ["first long text"], [False], [0.0]
    line = make(stream, texts, final, now)
    line._tick()
    now[0] += 1.5
    texts.append("short")
    line._tick()
    now[0] += 0.1
    texts.append("not yet")
    line._tick()  # too soon: not written
    assert stream.getvalue() == "\rfirst long text" + "\rshort" + " " * 10


def test_nothing_is_written_when_nothing_changed() -> None:
    stream, texts, final, now = io.StringIO(), ["same"], [False], [0.0]
    line = make(stream, texts, final, now)
    for _ in range(5):
        now[0] += 20
        line._tick()
    assert line.writes == 1


def test_stop_writes_the_final_line() -> None:
    stream, texts, final, now = Tty(), ["3 done"], [False], [0.0]
    line = make(stream, texts, final, now)
    line._tick()
    line.stop()
    assert line.finished and stream.getvalue().endswith("3 done\n")
