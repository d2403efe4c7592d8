"""Projection runner: follows the event store's notification log into the read-model tables.

Each batch of events is applied and the tracking position advanced in ONE database
transaction, so every event takes effect exactly once across crashes, restarts and competing
workers: the batch claims the tracking row (advances it from the position the runner last saw,
which locks it: `infrastructure/projection_tracking.py`) before any statement that reads or changes
existing rows, and a batch that read nothing sends its claim together with its queued writes; a failed
claim rolls the whole batch back. Realtime pushes collected while applying a batch are emitted only after
that transaction committed; a batch committed inside `deferred_pushes()` (an HTTP request driving the
runner) hands them to that context instead, which sends them once its response is out.

A batch that none of the runner's projectors needs (every notification is `unneeded` by each: a hold
for the people projection) opens no transaction: the runner passes it in memory and its tracking row
follows with the next batch that writes (whose claim then starts from the row's committed position,
so the compare-and-set still guards every change), or from the background loop once idle. Such events
change no row, so passing them twice (after a crash, or by two workers) is harmless: still exactly once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from infrastructure import parking, pushes
from infrastructure.document_memory import DocumentMemory
from infrastructure.parking_runner import PartsMixin
from infrastructure.projection_tracking import Moved, Tracking
from infrastructure.projector import Batch, Projector, keep_written
from infrastructure.pushes import Broadcaster, Emit, NullBroadcaster

log = logging.getLogger(__name__)
OFFERED_MAX = 10_000  # committed notifications kept for the runner (`ProjectionRunner.offer`)


class ProjectionRunner(PartsMixin):
    def __init__(
        self,
        name: str,
        read_notifications: Callable[[int, int], list[Any]],
        decode: Callable[[Any], Any],
        max_position: Callable[[], int],
        engine: sa.Engine,
        projectors: Iterable[Projector],
        broadcaster: Broadcaster | None = None,
        batch_size: int = 500,
    ):
        self.name = name
        self._read = read_notifications
        self._decode = decode
        self._max_position = max_position
        self.engine = engine
        self.projectors = list(projectors)
        self.broadcaster = broadcaster or NullBroadcaster()
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self.position = 0
        # notifications this process committed, by id, until projected (see `offer`)
        self._offered: dict[int, Any] = {}
        self._offered_lock = threading.Lock()
        self.parked: dict[int, str] = {}  # positions this runner parked (recent ones), with an error
        self.tracking = Tracking(name, engine)
        # the committed tracking position while `position` is ahead of it by batches nobody needed (else None)
        self._unclaimed_from: int | None = None
        self.memory = DocumentMemory()  # documents its batches committed (PostgreSQL: read no more)

    # -- tracking -------------------------------------------------------------------------------

    def ensure_tracking_row(self) -> None:
        self.tracking.ensure_row()

    def committed_position(self, conn: sa.Connection | None = None) -> int:
        return self.tracking.committed_position(conn)

    # -- processing -----------------------------------------------------------------------------

    def catch_up(self, progress: Callable[[int], None] | None = None, until: int | None = None) -> int:
        """Process every event recorded so far (or at least up to `until`); return the position reached."""
        with self._lock:
            if until is not None and self.position >= until:
                return self.position  # another waiter processed our events while we queued for the lock
            while self._process_batch(progress):
                if until is not None and self.position >= until:
                    break  # a waiter stops at its own events (no extra read of an empty log tail)
            if until is None:  # the background loop (or a rebuild): the tracking row catches up too
                self._claim_passed()
            return self.position

    def pass_unneeded(self, until: int) -> bool:
        """Pass this process's own notifications up to `until` without a transaction when none of them
        concerns this runner's projectors (see the module docstring); True when the runner is then at
        `until`. Answers False at once, changing nothing, when it cannot tell without waiting (another
        thread drives the runner, or a notification is not in memory) or when some projector needs one."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self.position >= until:
                return True
            run = self.offered_run(until)
            if run is None or len(self._unneeded(run)) < len(run):
                return False
            self._pass(run)
            return True
        finally:
            self._lock.release()

    def offered_run(self, until: int) -> list[Any] | None:
        """The notifications after `position` up to `until`, all from memory (`offer`), or None when
        one of them is not there or they are more than a batch (the caller holds the lock)."""
        if until - self.position > self.batch_size:
            return None
        with self._offered_lock:
            run = [self._offered.get(i) for i in range(self.position + 1, until + 1)]
        return None if None in run else run

    def _unneeded(self, notifications: list[Any]) -> set[int]:
        """The ids of the notifications that no projector of this runner needs (decodes, applies)."""
        unneeded: set[int] | None = None
        for projector in self.projectors:
            skip = projector.unneeded(notifications) if hasattr(projector, "unneeded") else set()
            unneeded = skip if unneeded is None else unneeded & skip
        return unneeded or set()

    def _pass(self, notifications: list[Any]) -> None:
        if self._unclaimed_from is None:
            self._unclaimed_from = self.position
        self.position = notifications[-1].id
        self._forget_offered(self.position)

    def _claim_start(self) -> int:
        """Where the next claim starts: the committed position (behind `position` by passed batches)."""
        return self.position if self._unclaimed_from is None else self._unclaimed_from

    def _claim_passed(self) -> None:
        """Advance the tracking row over the batches passed in memory (one small transaction)."""
        if self._unclaimed_from is None:
            return
        try:
            with self.engine.begin() as conn:
                self.tracking.claim(conn, self._unclaimed_from, self.position)
            self.memory.passed(self._unclaimed_from, self.position)
        except Moved as moved:  # another worker (or a rebuild) moved it: go on from there
            self.position = moved.position
            self._forget_offered(moved.position)
        self._unclaimed_from = None

    def offer(self, notifications: Iterable[Any]) -> None:
        """Notifications this process has just committed (as the event store returned them): a batch
        that would read exactly these from the log takes them from here instead, one round trip
        fewer on the path a read-your-writes request waits on. Only an unbroken run of ids right
        after the position is taken, so an id this process did not commit (another process's event,
        or a gap) is always read from the log."""
        with self._offered_lock:
            if len(self._offered) < OFFERED_MAX:  # a runner far behind reads from the log anyway
                for notification in notifications:
                    if notification.id > self.position:
                        self._offered[notification.id] = notification

    def _take_offered(self, start: int) -> list[Any]:
        taken: list[Any] = []
        with self._offered_lock:
            while len(taken) < self.batch_size:
                notification = self._offered.pop(start + 1 + len(taken), None)
                if notification is None:
                    break
                taken.append(notification)
        return taken

    def _forget_offered(self, upto: int) -> None:
        with self._offered_lock:
            for stale in [i for i in self._offered if i <= upto]:
                del self._offered[stale]

    def _process_batch(self, progress: Callable[[int], None] | None) -> int:
        # Read from the position this runner last saw (no round trip for the committed one); the
        # tracking row decides when the batch is claimed, and a batch another worker already
        # applied is dropped.
        start = self.position
        notifications = self._take_offered(start) or self._read(start + 1, self.batch_size)
        if not notifications:
            return 0
        last = notifications[-1].id
        unneeded = self._unneeded(notifications)
        if len(unneeded) == len(notifications):  # nothing to apply: no transaction (module docstring)
            self._pass(notifications)
            if progress:
                progress(len(notifications))
            return len(notifications)
        try:
            batches = [self._apply(notifications, start, last, unneeded)]
        except Moved as moved:  # another worker processed events meanwhile (or a rebuild rewound)
            self.position = moved.position
            self._unclaimed_from = None
            self._forget_offered(moved.position)
            return 1
        except Exception as error:
            if parking.is_transient(error):
                raise
            # Some event of the batch cannot be applied: apply the batch in parts, parking that event.
            log.warning("projection %s: batch %s..%s failed (%s); applying it in parts", self.name, start, last, error)
            batches = self._apply_in_parts(notifications)  # advances self.position part by part
        else:
            self.position = last
        self._forget_offered(self.position)
        pushes.send_or_defer(self.broadcaster, [emit for batch in batches for emit in batch.emits])
        if progress:
            progress(len(notifications))
        return len(notifications)

    def _apply(self, notifications: list[Any], start: int, last: int, unneeded: set[int] | None = None) -> Batch:
        """Apply `notifications` (the events after `start` up to `last`) and advance the tracking
        position (from its committed one: `_claim_start`) in one transaction; run the batch's
        after-commit callbacks."""
        start = self._claim_start()
        with self.engine.begin() as conn:
            batch = Batch(conn, start=start, end=last)
            batch.claim = lambda: self.tracking.claim(conn, start, last)
            # A notification is decoded only when some projector needs it: decoding is most of the cost.
            unneeded = self._unneeded(notifications) if unneeded is None else unneeded
            named: set[tuple[str, str]] | None = None
            if conn.dialect.driver == "psycopg":
                reads = [r for p in self.projectors if hasattr(p, "prefetch") for r in p.prefetch(notifications)]
                reads, named = self.memory.take(start, reads, batch)  # the documents this runner committed
                if reads:  # the claim and the other documents the batch will change: one round trip
                    self.tracking.claim_and_prefetch(conn, batch, reads)
            for notification in notifications:
                if notification.id in unneeded:
                    continue
                event = self._decode(notification)
                for projector in self.projectors:
                    projector.apply(batch, event, notification.id)
            for projector in self.projectors:
                projector.flush(batch)
            if conn.dialect.driver == "psycopg" and (batch.claim is not None or batch.inserts):
                self.tracking.claim_insert_commit(conn, batch)
            else:
                batch.conn  # noqa: B018  (claims the batch if nothing did, and runs its queued statements)
        self._unclaimed_from = None
        if named is not None:
            self.memory.remember(batch, named, len(notifications))
        keep_written(batch)
        for callback in batch.after_commit:
            callback()
        return batch

    def send(self, messages: Iterable[Emit]) -> None:
        """Push committed changes; identical pushes go out once (the read model already holds every change)."""
        pushes.send(self.broadcaster, messages)

    def reset(self) -> None:
        """Empty the read models and rewind the tracking position (for a rebuild)."""
        with self._lock, self.engine.begin() as conn:
            for projector in self.projectors:
                projector.reset(conn)
            self.tracking.rewind(conn)
            parking.forget(conn, self.projection_names())  # the rebuild parks again what still fails
            self.position = 0
            self._unclaimed_from = None
            self.parked.clear()
            self.memory.clear()

    def projection_names(self) -> list[str]:
        """The `projection` of this runner's parked events: its projectors, and itself (undecodable events)."""
        return [self.name, *(parking.projector_name(p) for p in self.projectors)]

    def pending(self) -> int:
        return max(0, (self._max_position() or 0) - self.committed_position())

    def run_forever(
        self, stop: threading.Event, interval: float = 0.05, wake: threading.Event | None = None, settle: float = 0.0
    ) -> None:
        """Follow the log until `stop`: look for new events every `interval` seconds, and at once
        whenever `wake` is set (`PositionWatch.waker`: events were written by another process).

        `settle`: in a process whose commands project their own events before they answer (the
        barrier drives this runner), the loop leaves what it finds to them that long: it catches up
        only when the events it saw `settle` seconds ago are still not projected (a command that
        failed before its projection, a write of another process), and moves the tracking row over
        the events passed in memory at most that often. Under load it would otherwise take the
        runner's lock from the requests and read back from the store the events they hold."""
        mark: int | None = None  # the log's end as seen at `marked`, while the runner was behind it
        marked = claimed = time.monotonic()
        while not stop.is_set():
            if wake is not None:
                wake.clear()  # before looking: a write from now on wakes the next round
            try:
                top, now = self._max_position() or 0, time.monotonic()
                if mark is not None and self.position >= mark:
                    mark = None  # the commands projected what was seen
                if mark is None and top > self.position:
                    mark, marked = top, now
                behind = mark is not None and now - marked >= settle
                if behind or (self._unclaimed_from is not None and now - claimed >= settle):
                    self.catch_up()
                    mark, claimed = None, time.monotonic()
            except Exception:
                log.exception("projection %s failed; retrying", self.name)
                stop.wait(1.0)
            (stop if wake is None else wake).wait(interval)
