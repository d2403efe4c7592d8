"""Read-your-writes for commands: wait (bounded) until the read-model runner passed a position.

In a process that runs the projections, the waiting request drives the runner itself, so its own
events are projected at once; elsewhere it waits for the runner's commit past its events, heard over
LISTEN/NOTIFY (`infrastructure.position_watch`), and polls the committed tracking position only when
no notification can arrive. When a projection parked one of the command's own events
(`infrastructure/parking.py`), the wait ends at once with `ChangeNotApplied` instead of reporting a
change that will never be visible."""

from __future__ import annotations

import contextvars
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from application.ports import ChangeNotApplied
from infrastructure import parking
from infrastructure.joint_batch import catch_up_together

if TYPE_CHECKING:
    from infrastructure.position_watch import PositionWatch
    from infrastructure.projection_runner import ProjectionRunner

log = logging.getLogger("infrastructure.projection_runner")


class Barrier:
    # a waiter that hears nothing reads the position again after this long (a notification lost with
    # its connection, a tracking row moved by a database without migration 0013's trigger)
    REREAD = 0.5

    def __init__(self, runner: ProjectionRunner, in_process: bool, timeout: float, watch: PositionWatch | None = None):
        self.runner = runner
        self.in_process = in_process
        self.timeout = timeout
        self.watch = watch

    def wait_for(self, position: int, first: int | None = None) -> None:
        first = position if first is None else first
        if self.runner.position >= position:
            return self._applied(first, position)
        if self.in_process:
            try:
                self.runner.catch_up(until=position)
            except Exception:  # the command's events are durable; the background loop will retry
                log.exception("projection failed while catching up to %s", position)
            if self.runner.position >= position:
                return self._applied(first, position)
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        watch, name = self.watch, self.runner.name
        while True:
            if (watch is not None and watch.heard(name) >= position) or self.runner.committed_position() >= position:
                return self._applied(first, position, ask_database=True)
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if watch is not None and watch.listening:
                watch.wait_for(name, position, min(left, self.REREAD))
            else:
                time.sleep(min(delay, left))
                delay = min(delay * 2, 0.05)
        log.warning("read models did not reach position %s within %.1fs", position, self.timeout)

    def passes_unneeded(self, position: int) -> bool:
        """In a process that runs the projections: whether the runner passed `position` without a
        transaction, none of its projectors needing the events up to it (False: wait as usual)."""
        return self.in_process and self.runner.pass_unneeded(position)

    def _applied(self, first: int, position: int, ask_database: bool = False) -> None:
        """Raise when an event from `first` to `position` was parked: by this process's runner (known
        in memory, no query), or by another process (asked only on the polling path, which is slow anyway)."""
        error = self.runner.parked_in(first, position)
        if error is None and ask_database:
            found = parking.parked_between(self.runner.engine, first, position)
            error = found[0].error if found else None
        if error is not None:
            raise ChangeNotApplied(position, error)


HELPERS = 32  # threads that wait for the other runners (as many requests as may wait at once)


class Barriers:
    """Read-your-writes over several runners (each follows the whole log): the runners that have
    not passed the position yet apply the command's events at the same time, each in its own
    transaction (the others from helper threads in the request's context, so their pushes are
    deferred alike), and the wait ends when all did: one commit's latency instead of one per runner.
    A runner with nothing to apply passes the events first, in the request's thread. On SQLite
    (one writer at a time) they take turns as before. On PostgreSQL, in the process that runs the
    projections, the runners first try to apply the events in ONE transaction, in the request's
    thread (`infrastructure/joint_batch.py`): one commit, no helper thread, each event decoded once."""

    def __init__(self, *barriers: Barrier):
        self.barriers = barriers
        self._helpers = ThreadPoolExecutor(HELPERS, thread_name_prefix="barrier")
        self._parallel = all(b.runner.engine.dialect.name != "sqlite" for b in barriers)
        # PostgreSQL, one engine, projections in this process: the runners' batches in one transaction
        engines = {b.runner.engine for b in barriers}
        self._together = (
            len(barriers) > 1
            and len(engines) == 1
            and next(iter(engines)).dialect.driver == "psycopg"
            and all(b.in_process for b in barriers)
        )

    def wait_for(self, position: int, first: int | None = None) -> None:
        if self._together and sum(b.runner.position < position for b in self.barriers) > 1:
            # those that need the events apply them in one transaction (`infrastructure/joint_batch.py`);
            # whatever is still behind afterwards goes on below, runner by runner
            catch_up_together([b.runner for b in self.barriers], position)
        # a runner none of whose projectors needs the command's events passes them at once, here:
        # no transaction and no helper thread (`ProjectionRunner.pass_unneeded`)
        behind = (
            [b for b in self.barriers if b.runner.position < position and not b.passes_unneeded(position)]
            if self._parallel
            else []
        )
        for barrier in self.barriers:
            if barrier not in behind:
                barrier.wait_for(position, first)  # passed already (only the check for parked events), or SQLite
        others = [
            self._helpers.submit(contextvars.copy_context().run, barrier.wait_for, position, first)
            for barrier in behind[1:]
        ]
        try:
            if behind:
                behind[0].wait_for(position, first)
        finally:
            for other in others:
                other.result()  # raises a refusal of that runner (ChangeNotApplied) as the first one would
