"""The background projection loop's `settle` (ProjectionRunner.run_forever): in the process whose commands
project their own events, the loop leaves them that long, and still catches up what nobody projected."""

from __future__ import annotations

import threading
import time

from infrastructure.projection_runner import ProjectionRunner

INTERVAL = 0.01


class Loop:
    """The real `run_forever` of a runner whose log end, position and catch-up are scripted."""

    def __init__(self, settle: float):
        self.top = 0
        self.catch_ups: list[float] = []
        runner = object.__new__(ProjectionRunner)
        runner.name, runner.position, runner._unclaimed_from = "probe", 0, None
        runner._max_position = lambda: self.top  # type: ignore[method-assign]
        runner.catch_up = self._catch_up  # type: ignore[method-assign, assignment]
        self.runner = runner
        self.stop = threading.Event()
        self.thread = threading.Thread(target=runner.run_forever, args=(self.stop, INTERVAL), kwargs={"settle": settle})

    def _catch_up(self) -> int:
        self.catch_ups.append(time.monotonic())
        self.runner.position = self.top
        self.runner._unclaimed_from = None
        return self.runner.position

    def __enter__(self) -> Loop:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(5)


def test_events_the_commands_project_in_time_are_left_to_them() -> None:
    with Loop(settle=0.3) as loop:
        for _ in range(40):  # a command writes, and projects its own events 20 ms later, for a second
            loop.top += 1
            time.sleep(0.02)
            loop.runner.position = loop.top
            time.sleep(0.005)
    assert loop.catch_ups == []


def test_events_left_unprojected_are_caught_up_after_the_settle_time() -> None:
    with Loop(settle=0.3) as loop:
        written = time.monotonic()
        loop.top = 5  # a write of another process, or a command that failed before its projection
        while not loop.catch_ups and time.monotonic() - written < 5:
            time.sleep(0.01)
    assert loop.catch_ups and 0.3 <= loop.catch_ups[0] - written < 2
    assert loop.runner.position == 5


def test_the_tracking_row_over_passed_events_moves_at_most_once_per_settle_time() -> None:
    with Loop(settle=0.3) as loop:
        began = time.monotonic()
        while time.monotonic() - began < 1.0:
            loop.runner._unclaimed_from = 0  # commands keep passing events in memory
            time.sleep(0.01)
    assert 1 <= len(loop.catch_ups) <= 4


def test_without_settle_the_loop_catches_up_at_once() -> None:
    with Loop(settle=0.0) as loop:
        written = time.monotonic()
        loop.top = 1
        while not loop.catch_ups and time.monotonic() - written < 5:
            time.sleep(0.005)
    assert loop.catch_ups and loop.catch_ups[0] - written < 0.3
