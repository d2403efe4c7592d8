"""Projection runner: follows the event store's notification log into the read-model tables.

Each batch of events is applied and the tracking position advanced in ONE database
transaction, so every event takes effect exactly once across crashes, restarts and competing
workers (the tracking row is locked and compared before anything is written). Realtime pushes
collected while applying a batch are emitted only after that transaction committed; a batch
committed inside `deferred_pushes()` (an HTTP request driving the runner) hands them to that
context instead, which sends them once its response is out."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
from eventsourcing.utils import get_topic

from infrastructure.tables import projection_tracking

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Emit:
    event: str
    data: dict[str, Any]
    room: str | None = None  # None = every connected socket


_deferred: ContextVar[list[Emit] | None] = ContextVar("deferred_pushes", default=None)


@contextmanager
def deferred_pushes() -> Iterator[list[Emit]]:
    """Collect, instead of sending, the pushes of batches committed in this context (threads
    started from it with a copied context, such as a framework's thread pool, included)."""
    pushes: list[Emit] = []
    token = _deferred.set(pushes)
    try:
        yield pushes
    finally:
        _deferred.reset(token)


def _push_key(message: Emit) -> Any:
    try:
        return (message.event, message.room, frozenset(message.data.items()))
    except TypeError:  # nested data (notifications): never merged
        return object()


class Broadcaster(Protocol):
    def emit(self, message: Emit) -> None: ...


class NullBroadcaster:
    def emit(self, message: Emit) -> None:
        log.debug("no realtime server: dropped %s", message.event)


@dataclass
class Batch:
    """What projectors see while applying a batch: the connection and the pushes to send."""

    conn: sa.Connection
    emits: list[Emit] = field(default_factory=list)
    pending: dict[str, Any] = field(default_factory=dict)  # projectors' write-behind state, flushed before commit
    start: int = 0  # the committed position this batch follows
    end: int = 0  # the position of its last event
    after_commit: list[Callable[[], None]] = field(default_factory=list)


class Handles:
    """The events a projector handles, by class, and the notification topics they have: an
    aggregate's `Event` base class stands for every event of that aggregate. A projector that has
    one applies nothing else (`covers(event)` first in `apply`) and tells the runner which
    notifications it does not need, so they are not decoded unless another projector needs them."""

    def __init__(self, *classes: type):
        self.classes = classes
        topics = [get_topic(cls) for cls in classes]
        self._prefixes = tuple(t[: -len("Event")] for t in topics if t.endswith(".Event"))
        self._exact = frozenset(t for t in topics if not t.endswith(".Event"))

    def covers(self, event: Any) -> bool:
        return isinstance(event, self.classes)

    def unneeded(self, notifications: list[Any]) -> set[int]:
        return {n.id for n in notifications if n.topic not in self._exact and not n.topic.startswith(self._prefixes)}


class Projector(Protocol):
    """May also have `unneeded(notifications) -> set of ids` that it would ignore (see `Handles`)."""

    def apply(self, batch: Batch, event: Any, position: int) -> None: ...
    def flush(self, batch: Batch) -> None: ...
    def reset(self, conn: sa.Connection) -> None: ...


class ProjectionRunner:
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

    # -- tracking -------------------------------------------------------------------------------

    def ensure_tracking_row(self) -> None:
        """Create the tracking row unless it exists (processes starting together agree)."""
        with self.engine.begin() as conn:
            found = conn.execute(
                sa.select(projection_tracking.c.position).where(projection_tracking.c.name == self.name)
            ).first()
            if found is not None:
                return
            try:
                with conn.begin_nested():
                    conn.execute(projection_tracking.insert().values(name=self.name, position=0))
            except sa.exc.IntegrityError:
                pass  # another process created it first

    def committed_position(self, conn: sa.Connection | None = None) -> int:
        query = sa.select(projection_tracking.c.position).where(projection_tracking.c.name == self.name)
        if conn is not None:
            return int(conn.execute(query).scalar() or 0)
        with self.engine.connect() as own:
            return int(own.execute(query).scalar() or 0)

    # -- processing -----------------------------------------------------------------------------

    def catch_up(self, progress: Callable[[int], None] | None = None, until: int | None = None) -> int:
        """Process every event recorded so far (or at least up to `until`); return the position reached."""
        with self._lock:
            if until is not None and self.position >= until:
                return self.position  # another waiter processed our events while we queued for the lock
            while self._process_batch(progress):
                if until is not None and self.position >= until:
                    break  # a waiter stops at its own events (no extra read of an empty log tail)
            return self.position

    def _process_batch(self, progress: Callable[[int], None] | None) -> int:
        # Read from the position this runner last saw (no round trip for the committed one); the
        # locked tracking row below decides, and what another worker already applied is dropped.
        start = self.position
        notifications = self._read(start + 1, self.batch_size)
        if not notifications:
            return 0
        with self.engine.begin() as conn:
            locked = int(conn.execute(
                sa.select(projection_tracking.c.position)
                .where(projection_tracking.c.name == self.name)
                .with_for_update()
            ).scalar() or 0)
            if locked != start:  # another worker processed events meanwhile (or a rebuild rewound)
                notifications = [n for n in notifications if n.id > locked] if locked > start else []
                if not notifications:
                    self.position = locked
                    return 1
                start = locked
            batch = Batch(conn, start=start, end=notifications[-1].id)
            # A notification is decoded only when some projector needs it: decoding is most of the cost.
            unneeded: set[int] | None = None
            for projector in self.projectors:
                skip = projector.unneeded(notifications) if hasattr(projector, "unneeded") else set()
                unneeded = skip if unneeded is None else unneeded & skip
            unneeded = unneeded or set()
            for notification in notifications:
                if notification.id in unneeded:
                    continue
                event = self._decode(notification)
                for projector in self.projectors:
                    projector.apply(batch, event, notification.id)
            for projector in self.projectors:
                projector.flush(batch)
            last = notifications[-1].id
            conn.execute(
                projection_tracking.update()
                .where(projection_tracking.c.name == self.name)
                .values(position=last)
            )
        self.position = last
        for callback in batch.after_commit:
            callback()
        deferred = _deferred.get()
        if deferred is not None:
            deferred.extend(batch.emits)
        else:
            self.send(batch.emits)
        if progress:
            progress(len(notifications))
        return len(notifications)

    def send(self, messages: Iterable[Emit]) -> None:
        """Push committed changes; identical pushes go out once (the read model already holds every change)."""
        seen: set[Any] = set()
        for message in messages:
            key = _push_key(message)
            if key in seen:
                continue
            seen.add(key)
            try:
                self.broadcaster.emit(message)
            except Exception:  # a push is best-effort; the read model is already committed
                log.exception("realtime emit failed: %s", message.event)

    def reset(self) -> None:
        """Empty the read models and rewind the tracking position (for a rebuild)."""
        with self._lock, self.engine.begin() as conn:
            for projector in self.projectors:
                projector.reset(conn)
            conn.execute(
                projection_tracking.update().where(projection_tracking.c.name == self.name).values(position=0)
            )
            self.position = 0

    def pending(self) -> int:
        return max(0, (self._max_position() or 0) - self.committed_position())

    def run_forever(self, stop: threading.Event, interval: float = 0.05) -> None:
        while not stop.is_set():
            try:
                if (self._max_position() or 0) > self.position:
                    self.catch_up()
            except Exception:
                log.exception("projection %s failed; retrying", self.name)
                stop.wait(1.0)
            stop.wait(interval)


class Barrier:
    """Read-your-writes for commands: wait (bounded) until the runner passed a position.

    In a process that runs the projections, the waiting request drives the runner itself, so
    its own events are projected at once; elsewhere it polls the committed tracking position."""

    def __init__(self, runner: ProjectionRunner, in_process: bool, timeout: float):
        self.runner = runner
        self.in_process = in_process
        self.timeout = timeout

    def wait_for(self, position: int) -> None:
        if self.runner.position >= position:
            return
        if self.in_process:
            try:
                self.runner.catch_up(until=position)
            except Exception:  # the command's events are durable; the background loop will retry
                log.exception("projection failed while catching up to %s", position)
            if self.runner.position >= position:
                return
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while time.monotonic() < deadline:
            if self.runner.committed_position() >= position:
                return
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        log.warning("read models did not reach position %s within %.1fs", position, self.timeout)
