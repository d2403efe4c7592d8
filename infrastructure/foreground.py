"""Foreground first: the HTTP requests a process is serving, for its background work to make way.

In the embedded shape one process serves the requests and runs the reporting projection (DuckDB) in a
thread. Its catch-ups and snapshot refreshes share the interpreter with the event loop: measured after
1,500 holds, the first 200-way contest on one slot answered its losers at p99 160 to 176 ms with the
catch-up of those holds running beside it, 118 to 125 ms once it had run. The reporting loop therefore
puts off work that falls due while requests are in flight, for at most `FOREGROUND_WAIT` seconds (a
store under constant load still catches up every few seconds); analytics reads that need a position
process it themselves (reporting/store.py `wait_for`), so no answer waits for this."""

from __future__ import annotations

import time
from collections.abc import Callable

FOREGROUND_WAIT = 2.0  # seconds background work may be put off while requests are in flight
Busy = Callable[[], bool] | None  # whether requests are in flight (None: a process that serves none)


class Foreground:
    """The count of HTTP requests in flight, kept by the event loop's thread (interfaces/http/middleware.py
    `PushAfterResponse`) and read by others (an int's read and write are atomic under the interpreter)."""

    def __init__(self) -> None:
        self.in_flight = 0

    def busy(self) -> bool:
        return self.in_flight > 0


class MakeWay:
    """For a background loop: whether work that is due waits for a quiet moment (module docstring)."""

    def __init__(self, busy: Busy, wait: float | None = None):
        self.busy = busy
        self.wait = FOREGROUND_WAIT if wait is None else wait
        self._since: float | None = None  # when the work waiting fell due

    def put_off(self, due: bool) -> bool:
        """True while `due` work should wait: requests are in flight and it has waited less than `wait` s."""
        if not due or self.busy is None or not self.busy():
            self._since = None
            return False
        now = time.monotonic()
        if self._since is None:
            self._since = now
        if now - self._since < self.wait:
            return True
        self._since = None  # it runs now: the next work due waits again
        return False
