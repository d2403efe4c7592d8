"""The reporting loop's cadence (reporting/cadence.py): catch-ups come with the snapshot refreshes, and
in between only when a batch's worth waits or the fallback period passed; the log's end is read sparingly."""

from __future__ import annotations

from reporting.cadence import CATCH_UP_EVERY, LOOK_EVERY, Cadence

START = 1_000.0  # a monotonic clock far past zero, as on a running machine
WAIT = 2.0  # the snapshot's wait
BATCH = 100


class Log:
    def __init__(self) -> None:
        self.behind = 0
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        return self.behind


def test_a_catch_up_comes_with_each_refresh_and_not_on_a_clock_of_its_own() -> None:
    log = Log()
    cadence = Cadence(lambda: WAIT, log, BATCH)
    log.behind = 3
    assert cadence.due(START) == (True, True)  # the first turn: both, the catch-up first
    cadence.caught_up(START)
    cadence.refreshed(START)
    log.behind = 5
    now = START
    while now < START + WAIT - 0.05:  # a few events keep coming: nothing until the next refresh
        now += 0.05
        assert cadence.due(now) == (False, False)
    assert cadence.due(START + WAIT) == (True, True)


def test_a_refresh_with_nothing_behind_needs_no_catch_up() -> None:
    log = Log()
    cadence = Cadence(lambda: WAIT, log, BATCH)
    assert cadence.due(START) == (False, True)


def test_a_batchs_worth_is_caught_up_between_refreshes_and_the_log_is_read_sparingly() -> None:
    log = Log()
    cadence = Cadence(lambda: WAIT, log, BATCH)
    cadence.due(START)
    cadence.caught_up(START)
    cadence.refreshed(START)
    reads = log.reads
    for step in range(1, 10):  # turns of the loop every 50 ms: the log's end is read every LOOK_EVERY only
        cadence.due(START + step * 0.05)
    assert log.reads == reads  # all within LOOK_EVERY of the last read
    log.behind = BATCH
    assert cadence.due(START + 2 * LOOK_EVERY) == (True, False)


def test_a_long_snapshot_wait_still_catches_up_every_catch_up_every() -> None:
    log = Log()
    cadence = Cadence(lambda: 3_600.0, log, BATCH)  # a slow full copy: the next refresh far away
    cadence.refreshed(START)
    cadence.caught_up(START)
    log.behind = 1
    assert cadence.due(START + CATCH_UP_EVERY - LOOK_EVERY) == (False, False)
    assert cadence.due(START + CATCH_UP_EVERY) == (True, False)
