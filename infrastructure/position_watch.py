"""What other processes commit, heard over PostgreSQL's LISTEN/NOTIFY instead of polled.

In the multi-process shape (`consult serve --workers N`: API processes that do not run the
projections, one `consult worker` that does) two waits crossed processes by polling: the worker's
runners looked for new events every 50 ms, and a command in an API process waited for read-your-writes
by reading the runners' tracking position every 5 to 50 ms. Both are now woken by notifications:

- the event store's write function already sends `NOTIFY <events table>` in the transaction of every
  write (eventsourcing's channel): the worker's runners wake on it (`waker`);
- migration 0013 has PostgreSQL send `NOTIFY consult_projected, '<runner>:<position>'` whenever a
  tracking row moves forward, delivered when that transaction commits: a waiting command wakes as
  soon as the runner it waits for committed past its events (`wait_for`).

One connection per process listens, in a daemon thread. Notifications are only a wake-up: every
waiter still falls back to reading (or polling) the database when none arrives, so a lost connection,
a database without the trigger or SQLite loses speed, never correctness. A position heard here was
committed (PostgreSQL delivers a notification only once its transaction committed)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import psycopg
from psycopg.sql import SQL, Identifier

log = logging.getLogger(__name__)

PROJECTED = "consult_projected"  # the channel of migration 0013's trigger on projection_tracking


class PositionWatch:
    def __init__(self, conninfo: str, events_channel: str, reconnect_delay: float = 1.0):
        self.conninfo = conninfo
        self.events_channel = events_channel
        self.reconnect_delay = reconnect_delay
        self._wakers: list[threading.Event] = []
        self._positions: dict[str, int] = {}
        self._changed = threading.Condition()
        self._listening = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="position-watch")

    def start(self) -> PositionWatch:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def listening(self) -> bool:
        """Whether notifications arrive now (else every waiter polls)."""
        return self._listening.is_set()

    def heard(self, runner: str) -> int:
        """The highest position `runner` was heard to commit (0: none since this process listened)."""
        return self._positions.get(runner, 0)

    def wait_for(self, runner: str, position: int, timeout: float) -> bool:
        """Wait until `runner` is heard to commit `position` or beyond (True), or `timeout` passes."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._positions.get(runner, 0) < position:
                left = deadline - time.monotonic()
                if left <= 0 or not self._listening.is_set():
                    return False
                self._changed.wait(left)
            return True

    def waker(self) -> threading.Event:
        """An event set whenever events were written (and once at each (re)connection, for what was written
        while no one listened); its one follower clears it before it looks for new events."""
        woken = threading.Event()
        woken.set()
        self._wakers.append(woken)
        return woken

    # -- the listening thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(SQL("LISTEN {}").format(Identifier(PROJECTED)))
                    conn.execute(SQL("LISTEN {}").format(Identifier(self.events_channel)))
                    self._listening.set()
                    self._wake()  # what was written while no one listened is looked for once
                    while not self._stop.is_set():
                        for notify in conn.notifies(timeout=0.25):
                            self._heard(notify.channel, notify.payload)
            except Exception as error:
                if not self._stop.is_set():
                    log.warning("position watch: listening failed (%s); waiters poll until it reconnects", error)
            finally:
                self._listening.clear()
                with self._changed:
                    self._changed.notify_all()  # waiters fall back to polling
            self._stop.wait(self.reconnect_delay)

    def _heard(self, channel: str, payload: str) -> None:
        if channel != PROJECTED:
            self._wake()
            return
        name, _, text = payload.rpartition(":")
        with contextlib.suppress(ValueError):
            position = int(text)
            with self._changed:
                if position > self._positions.get(name, 0):
                    self._positions[name] = position
                    self._changed.notify_all()

    def _wake(self) -> None:
        for woken in self._wakers:
            woken.set()
