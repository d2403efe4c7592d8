"""When the reporting store's background loop catches up and refreshes the analysts' snapshot.

A catch-up has fixed costs (a DuckDB transaction over a dozen tables and rollups) that dominate a small
batch: after every command they cost a booking 15 to 60 ms of CPU in the serving process, and even once a
second 7.3 ms of a paid booking's 37 (3.7 ms in cycles: docs/BENCHMARKS.md, ninth session), in competition
with the requests. So the loop works in cycles: when the snapshot falls due (`snapshot_wait`), it catches
up and then refreshes, so the snapshot is at most one wait plus one cycle old (a catch-up on a clock of its
own added its own period to that age). Between cycles it catches up only when a batch's worth of events
waits, or `CATCH_UP_EVERY` seconds after the last catch-up (a slow full copy stretches the snapshot's
wait); it reads the log's end for that every `LOOK_EVERY` seconds, not at every turn of the loop. Analytics
reads never see the delay: each catches the store up itself first (`ReportingStore.wait_for`)."""

from __future__ import annotations

from collections.abc import Callable

CATCH_UP_EVERY = 10.0
LOOK_EVERY = 0.5


class Cadence:
    def __init__(self, snapshot_wait: Callable[[], float], behind: Callable[[], int], batch_size: int):
        self._snapshot_wait = snapshot_wait
        self._behind = behind  # events written and not yet processed (reads the log's end)
        self._batch_size = batch_size
        self._refreshed = 0.0  # due at the first turn (the monotonic clock is far past it)
        self._caught_up = self._looked = float("-inf")

    def due(self, now: float) -> tuple[bool, bool]:
        """(catch up, refresh) at `now`; a refresh always comes with a catch-up when events wait."""
        refresh = now - self._refreshed >= self._snapshot_wait()
        cycle = refresh or now - self._caught_up >= CATCH_UP_EVERY
        if not cycle and now - self._looked < LOOK_EVERY:
            return False, False
        behind, self._looked = self._behind(), now
        return behind >= self._batch_size or (behind > 0 and cycle), refresh

    def caught_up(self, now: float) -> None:
        self._caught_up = now

    def refreshed(self, now: float) -> None:
        self._refreshed = now
