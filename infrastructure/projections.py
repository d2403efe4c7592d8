"""Projection runner: follows the event store's notification log into the read-model tables.

Each batch of events is applied and the tracking position advanced in ONE database
transaction, so every event takes effect exactly once across crashes, restarts and competing
workers: the batch claims the tracking row (advances it from the position the runner last saw,
which locks it) before any statement that reads or changes existing rows, and a batch of new rows
only sends its claim together with the inserts; a failed claim rolls the whole batch back. Realtime pushes
collected while applying a batch are emitted only after that transaction committed; a batch
committed inside `deferred_pushes()` (an HTTP request driving the runner) hands them to that
context instead, which sends them once its response is out."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa
from eventsourcing.utils import get_topic

from infrastructure import parking
from infrastructure.barrier import Barrier as Barrier  # the read-your-writes waits (re-exported)
from infrastructure.barrier import Barriers as Barriers
from infrastructure.parking_runner import PartsMixin
from infrastructure.tables import projection_tracking

log = logging.getLogger(__name__)
OFFERED_MAX = 10_000  # committed notifications kept for the runner (`ProjectionRunner.offer`)


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
    """What projectors see while applying a batch: the connection and the pushes to send.

    A projector that only inserts new rows hands them to `insert` (run at the end of the batch, in
    its transaction); anything else goes through `conn`. The first use of `conn` claims the batch
    (locks the tracking row: see `ProjectionRunner`) and runs the inserts handed over so far, so a
    statement always sees every row projected before it."""

    connection: sa.Connection
    emits: list[Emit] = field(default_factory=list)
    pending: dict[str, Any] = field(default_factory=dict)  # projectors' write-behind state, flushed before commit
    start: int = 0  # the committed position this batch follows
    end: int = 0  # the position of its last event
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    inserts: list[tuple[sa.Insert, list[dict[str, Any]]]] = field(default_factory=list)
    claim: Callable[[], None] | None = None  # set by the runner; None once claimed

    @property
    def conn(self) -> sa.Connection:
        if self.claim is not None:
            claim, self.claim = self.claim, None
            claim()
        if self.inserts:
            inserts, self.inserts = self.inserts, []
            for statement, rows in inserts:
                self.connection.execute(statement, rows)
        return self.connection

    def insert(self, statement: sa.Insert, row: dict[str, Any]) -> None:
        """Insert `row` (a new row: nothing of this batch reads or changes it before) with `statement`."""
        if self.inserts and self.inserts[-1][0] is statement:
            self.inserts[-1][1].append(row)
        else:
            self.inserts.append((statement, [row]))


class _Moved(Exception):
    """Another worker moved the tracking position since this runner last saw it: the batch is rolled back."""

    def __init__(self, position: int):
        super().__init__(position)
        self.position = position


# Advances the tracking row from `start` to `end`, or fails (division by zero) when the row is not at
# `start`, which aborts its transaction: the claim of a batch sent together with its inserts and COMMIT.
CLAIM_OR_FAIL = (
    "WITH claimed AS (UPDATE projection_tracking SET position = %(end)s "
    "WHERE name = %(name)s AND position = %(start)s RETURNING 1) "
    "SELECT 1 / count(*) FROM claimed"
)


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


def _processed(row: dict[str, Any], processors: dict[str, Any]) -> dict[str, Any]:
    if not processors:
        return row
    return {k: processors[k](v) if k in processors else v for k, v in row.items()}


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
        self.batch_type, self.moved_type = Batch, _Moved  # for PartsMixin
        self._lock = threading.Lock()
        self.position = 0
        # notifications this process committed, by id, until projected (see `offer`)
        self._offered: dict[int, Any] = {}
        self._offered_lock = threading.Lock()
        self.parked: dict[int, str] = {}  # positions this runner parked (recent ones), with an error
        self._select_position = sa.select(projection_tracking.c.position).where(projection_tracking.c.name == name)
        self._statements: dict[Any, tuple[str, dict[str, Any]]] = {}
        self._claim_statement = (
            projection_tracking.update()
            .where(projection_tracking.c.name == name, projection_tracking.c.position == sa.bindparam("b_start"))
            .values(position=sa.bindparam("b_end"))
        )

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
        query = self._select_position
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
        try:
            batches = [self._apply(notifications, start, last)]
        except _Moved as moved:  # another worker processed events meanwhile (or a rebuild rewound)
            self.position = moved.position
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
        emits: list[Emit] = []
        for batch in batches:
            emits.extend(batch.emits)
        deferred = _deferred.get()
        if deferred is not None:
            deferred.extend(emits)
        else:
            self.send(emits)
        if progress:
            progress(len(notifications))
        return len(notifications)

    def _apply(self, notifications: list[Any], start: int, last: int) -> Batch:
        """Apply `notifications` (the events after `start` up to `last`) and advance the tracking
        position in one transaction; run the batch's after-commit callbacks."""
        with self.engine.begin() as conn:
            batch = Batch(conn, start=start, end=last)
            batch.claim = lambda: self._claim(conn, start, last)
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
            if batch.claim is not None and conn.dialect.driver == "psycopg":
                self._claim_insert_commit(conn, batch)
            else:
                batch.conn  # noqa: B018  (claims the batch if nothing did, and runs its inserts)
        for callback in batch.after_commit:
            callback()
        return batch

    def _claim(self, conn: sa.Connection, start: int, end: int) -> None:
        """Advance the tracking row from `start` to `end` in this transaction, which locks it until
        the commit; raise `_Moved` when another worker moved it."""
        if conn.execute(self._claim_statement, {"b_start": start, "b_end": end}).rowcount != 1:
            raise _Moved(int(conn.execute(self._select_position).scalar() or 0))

    def _claim_insert_commit(self, conn: sa.Connection, batch: Batch) -> None:
        """PostgreSQL, a batch of new rows only (no projector used the connection): BEGIN, the claim,
        the inserts and COMMIT go out in one pipeline, one round trip. A failed claim aborts the
        transaction before anything of it is committed."""
        raw = conn.connection.driver_connection
        assert raw is not None and raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # nothing ran
        statements = [(self._compiled(conn, statement, tuple(rows[0])), rows) for statement, rows in batch.inserts]
        raw.autocommit = True  # BEGIN is sent in the pipeline instead of by the driver, a round trip earlier
        try:
            with raw.pipeline(), raw.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(CLAIM_OR_FAIL, {"name": self.name, "start": batch.start, "end": batch.end})
                for (sql, processors), rows in statements:
                    cursor.executemany(sql, [_processed(row, processors) for row in rows])
                cursor.execute("COMMIT")
        except Exception as error:
            with contextlib.suppress(psycopg.Error):
                raw.execute("ROLLBACK")
            if isinstance(error, psycopg.errors.DivisionByZero):
                raise _Moved(self.committed_position()) from None
            raise
        finally:
            raw.autocommit = False
        batch.inserts = []

    def _compiled(self, conn: sa.Connection, statement: sa.Insert, keys: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
        """The driver's SQL of `statement` for rows of these columns, and the columns' bind processors
        (what SQLAlchemy would apply to the values)."""
        found = self._statements.get((statement, keys))
        if found is None:
            columns = statement.table.c
            processors = {key: columns[key].type.bind_processor(conn.dialect) for key in keys}
            found = self._statements[(statement, keys)] = (
                str(statement.compile(dialect=conn.dialect, column_keys=list(keys))),
                {k: p for k, p in processors.items() if p},
            )
        return found

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
            conn.execute(projection_tracking.update().where(projection_tracking.c.name == self.name).values(position=0))
            parking.forget(conn, self.projection_names())  # the rebuild parks again what still fails
            self.position = 0
            self.parked.clear()

    def projection_names(self) -> list[str]:
        """The `projection` of this runner's parked events: its projectors, and itself (undecodable events)."""
        return [self.name, *(parking.projector_name(p) for p in self.projectors)]

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
