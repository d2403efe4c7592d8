"""Long commands show their progress and rate on stderr: whole lines when it is not a terminal, a
redrawn bar when it is (tests/test_rebuild.py checks the lines of a real `consult rebuild`)."""

from __future__ import annotations

import io
import os
import pty
import select

from interfaces.progress import ProgressLines, progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lines_every_interval_with_count_share_and_rate():
    out, clock = io.StringIO(), Clock()
    lines = ProgressLines("rebuilding reporting store", "event", 1_000_000, out, every=10, clock=clock)
    clock.now += 4
    lines.update(50_000)
    assert out.getvalue() == ""  # not yet: one line per interval, not per batch
    clock.now += 6
    lines.update(150_000)
    clock.now += 10
    lines.update(800_000)
    assert out.getvalue().splitlines() == [
        "rebuilding reporting store: 200,000 of 1,000,000 events (20.0%), 20,000 events/s, 10.0 s",
        "rebuilding reporting store: 1,000,000 of 1,000,000 events (100.0%), 50,000 events/s, 20.0 s",
    ]


def test_without_a_total_and_the_final_line():
    out = io.StringIO()  # not a terminal
    with progress("writing changed Parquet partitions", "partition", out=out) as advance:
        for _ in range(3):
            advance(1)
    [line] = out.getvalue().splitlines()
    assert line.startswith("writing changed Parquet partitions: 3 partitions, ")
    assert " partitions/s, " in line and "\r" not in out.getvalue()


def test_a_terminal_gets_the_redrawn_bar_with_its_rate():
    main, child = pty.openpty()
    with os.fdopen(child, "w") as terminal:
        with progress("importing", "record", 400, out=terminal) as advance:
            for _ in range(4):
                advance(100)
        terminal.flush()
        received = b""
        while select.select([main], [], [], 1.0)[0]:  # all the terminal received (a read may return a part)
            received += os.read(main, 65536)
    os.close(main)
    shown = received.decode()
    assert "\r" in shown and "importing: 100%" in shown and "400/400" in shown and "record/s" in shown
