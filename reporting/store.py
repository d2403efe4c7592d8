"""The reporting store: one DuckDB file owned by the process that runs its projection.

- Tracking: the position lives in DuckDB (`reporting_tracking`) and is advanced in the same DuckDB
  transaction as the rows of its batch, so each event takes effect exactly once across restarts.
- Consistent reads on demand: `wait_for(position)` (bounded) lets an analytics request include every
  command that returned before it was sent; commands never wait for this store. The background
  loop catches up right before each snapshot refresh, and when a batch's worth of events waits
  (reporting/cadence.py).
- Analyst access: the owner publishes a read-only snapshot (a complete database file, atomically
  replaced, refreshed by writing only what changed: reporting/snapshot.py) that any DuckDB can open:
  `snapshot_interval` seconds after the last one, or later after a slow one (a full copy), so that
  refreshing never takes more than about a tenth of the owner's time (`snapshot_wait`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from infrastructure.foreground import Busy, MakeWay
from reporting import clustering, parked, schema, snapshot, upcoming
from reporting.batch import paused_gc
from reporting.cadence import Cadence
from reporting.direct import Direct
from reporting.projection import TOPICS, ReportingProjection
from reporting.read_ahead import batches

log = logging.getLogger(__name__)
LIVE_FILE = "reporting.duckdb"
UPCOMING_LAG = timedelta(days=1)  # how far upcoming_since stays behind the wall clock
UPCOMING_INTERVAL = 600.0  # seconds between two advances of upcoming_since
SNAPSHOT_FILE = "reporting-snapshot.duckdb"
PRUNE_INTERVAL = 30.0  # seconds between two prunings of the snapshot journal
SNAPSHOT_DUTY = 10  # the wait after a snapshot is at least this many times what copying it took


class ReportingStore:
    def __init__(
        self,
        path: Path,
        read_notifications: Callable[[int, int], list[Any]],
        decode: Callable[[Any], Any],
        max_position: Callable[[], int],
        zone: ZoneInfo,
        snapshot_path: Path | None = None,
        batch_size: int = 20_000,  # per catch-up batch: fewer statements and rollup groups per event
        snapshot_interval: float = 2.0,
        preload: Callable[[list[Any]], None] | None = None,
        memory_limit: str | None = None,
        direct: bool = False,  # stored states are plain JSON text (reporting/direct.py may write some)
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.snapshot_path = snapshot_path or path.with_name(SNAPSHOT_FILE)
        self._read = read_notifications
        self._decode = decode
        self._preload = preload  # prepares a batch's decoding in bulk (the privacy keys it needs)
        self._max_position = max_position
        self.zone = zone
        self.batch_size = batch_size
        self.snapshot_interval = snapshot_interval
        # DuckDB's allocator keeps what a large operation freed (a full snapshot copy: about 150 MiB at 1 M
        # events) unless its background threads return it to the system; memory_limit bounds its buffers only.
        config: dict[str, Any] = {"allocator_background_threads": True}
        if memory_limit:
            config["memory_limit"] = memory_limit
        self.con = duckdb.connect(str(path), config=config)  # the writer's connection (used under self._lock only)
        fresh = schema.ensure(self.con, zone.key)
        self._readers = self.con.cursor()  # the root that hands out one connection per reader
        self._readers_lock = threading.Lock()
        self.projection = ReportingProjection(zone)
        self.direct = Direct(zone, cursor=self.con.cursor()) if direct else None
        self._lock = threading.Lock()  # one writer: the projection (catch-up, reset)
        self._snapshot_lock = threading.Lock()
        self.position = self.committed_position()
        snapshot.ensure(self.con, self.position)
        self._buffers = snapshot.Buffers(self.snapshot_path)
        if fresh:  # a new or rebuilt store: the snapshot files of another history must be copied afresh
            self._buffers.discard()
        self._published = -1
        self._snapshot_seconds = 0.0  # what the last copy took
        self.last_refresh_incremental = False
        self._pruned = -PRUNE_INTERVAL  # when the snapshot journal was last pruned
        self._closed = False

    # -- tracking ------------------------------------------------------------------------------------

    def committed_position(self) -> int:
        row = (
            self.cursor()
            .execute("SELECT position FROM reporting_tracking WHERE name = ?", [schema.TRACKING])
            .fetchone()
        )
        return int(row[0]) if row else 0

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own to the live database (one per thread or per query)."""
        with self._readers_lock:
            return self._readers.cursor()

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside one read transaction: every statement of an answer sees the same
        committed state, even when the projection commits a batch meanwhile."""
        cursor = self.cursor()
        try:
            cursor.execute("BEGIN TRANSACTION")
            yield cursor
        finally:
            cursor.close()  # ends the (read-only) transaction

    # -- processing ----------------------------------------------------------------------------------

    def catch_up(self, progress: Callable[[int], None] | None = None, until: int | None = None) -> int:
        """Process the log to its end as found by a read (a short batch). After a full batch the next ones are read
        and checked (reporting/direct.py `prepare`) in threads while this one is applied (reporting/read_ahead.py)."""
        with self._lock:
            if until is not None and self.position >= until:
                return self.position
            with (
                paused_gc() as tick,
                closing(batches(self._read, self.direct, self.position + 1, self.batch_size)) as read,
            ):
                for notifications in read:
                    if notifications:
                        self._process_batch(progress, notifications)
                        tick()
            return self.position

    def _process_batch(self, progress: Callable[[int], None] | None, notifications: list[Any] | None = None) -> int:
        start = self.position
        if notifications is None:
            notifications = self._read(start + 1, self.batch_size)
        if not notifications:
            return 0
        try:
            with paused_gc():
                self._apply(notifications)
        except Exception as error:
            if isinstance(error, parked.TRANSIENT):
                raise
            # Some event cannot be applied: apply the batch in halves, parking that event (reporting/parked.py).
            batch = (start, notifications[-1].id, error)
            log.warning("reporting projection: batch %s..%s failed (%s); applying it in parts", *batch)
            self._apply_in_parts(notifications)
        if progress:
            progress(len(notifications))
        return len(notifications)

    def _apply(self, notifications: list[Any]) -> None:
        """Apply the events and advance the tracking position in one DuckDB transaction."""
        last = notifications[-1].id
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            wanted = [n for n in notifications if n.topic in TOPICS]
            journal = self._buffers.exist()  # decided once: the rollups and the rows journal alike
            wanted, direct = self.direct.take(con, wanted, journal) if self.direct and wanted else (wanted, 0)
            if self._preload is not None and wanted:
                self._preload(wanted)
            events = [self._decode(n) for n in wanted]
            if events or direct:
                batch = self.projection.apply(con, events, journal)
                if direct:  # the transactions after the Python part (`earned`), the appointments before (`take`)
                    self.direct.write(con, journal)
                self._journal(con, last, batch, events, journal)
            con.execute("UPDATE reporting_tracking SET position = ? WHERE name = ?", [last, schema.TRACKING])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self.position = last

    def _journal(self, con: Any, position: int, batch: Any, events: list[Any], journal: bool) -> None:
        """Journal the batch's changes for the snapshot files (reporting/snapshot.py) if there are any (`journal`)."""
        if journal:
            snapshot.record(con, position, batch, events)
        else:
            snapshot.skip(con, position)

    def _apply_in_parts(self, notifications: list[Any]) -> None:
        if len(notifications) == 1:
            self._park(notifications[0])
            return
        half = len(notifications) // 2
        for part in (notifications[:half], notifications[half:]):
            try:
                self._apply(part)
            except Exception as error:
                if isinstance(error, parked.TRANSIENT):
                    raise
                self._apply_in_parts(part)

    def _park(self, notification: Any) -> None:
        """The one event of a failed part: park it and advance the tracking position past it."""
        try:
            self._apply([notification])
            return  # it applies on its own (it failed only with others)
        except Exception as error:
            if isinstance(error, parked.TRANSIENT):
                raise
            failure = error
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            parked.record(con, notification, failure)
            con.execute("UPDATE reporting_tracking SET position = ? WHERE name = ?", [notification.id, schema.TRACKING])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self.position = notification.id

    def parked_events(self, position: int | None = None) -> list[Any]:
        """The events this projection parked (all, or the one at `position`)."""
        cursor = self.cursor()
        try:
            return parked.listed(cursor, position)
        finally:
            cursor.close()

    def retry(self, position: int | None = None) -> tuple[list[Any], list[Any]]:
        """Apply the parked events again (after an upgrade): those that apply now are unparked.
        Returns (applied, still parked)."""
        applied, still = [], []
        for entry in self.parked_events(position):
            with self._lock:
                found = self._read(entry.position, 1)
                if not found or found[0].id != entry.position:
                    continue
                notification = found[0]
                con = self.con
                con.execute("BEGIN TRANSACTION")
                try:
                    if notification.topic in TOPICS:
                        events = [self._decode(notification)]
                        journal = self._buffers.exist()
                        self._journal(con, self.position, self.projection.apply(con, events, journal), events, journal)
                    parked.unpark(con, entry.position)
                    con.execute("COMMIT")
                    applied.append(entry)
                except Exception as error:
                    con.execute("ROLLBACK")
                    if isinstance(error, parked.TRANSIENT):
                        raise
                    con.execute("BEGIN TRANSACTION")
                    still.append(parked.record(con, notification, error))
                    con.execute("COMMIT")
        if applied:  # changes at old positions, which the snapshot files' positions already cover: copy afresh
            with self._snapshot_lock:
                self._buffers.discard()
                self._published = -1
        return applied, still

    def wait_for(self, position: int, timeout: float) -> bool:
        """Process (or wait for the background loop to process) the log up to `position`."""
        if self.position >= position:
            return True
        deadline = time.monotonic() + timeout
        acquired = self._lock.acquire(timeout=timeout)
        if acquired:
            try:
                while self.position < position and time.monotonic() < deadline and self._process_batch(None):
                    pass
            finally:
                self._lock.release()
        if self.position < position:
            log.warning(
                "reporting store did not reach position %s within %.1fs (at %s)", position, timeout, self.position
            )
            return False
        return True

    def reset(self) -> None:
        """Empty the store and rewind its position (for a rebuild)."""
        with self._lock:
            self.con.execute("BEGIN TRANSACTION")
            schema.truncate(self.con)
            snapshot.reset(self.con)
            self.con.execute("COMMIT")
            self.position = 0
            self._published = -1
        with self._snapshot_lock:
            self._buffers.discard()

    def advance_upcoming(self, now: datetime | None = None) -> None:
        """Keep `upcoming_since` a day behind the wall clock (reporting/upcoming.py): the index of
        upcoming appointments then holds the future and the last day only. Then keep the period
        rollups in period order (reporting/clustering.py)."""
        moment = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None) - UPCOMING_LAG
        with self._writing() as con:  # the next appointments from an hour after now on are in upcoming_soon
            upcoming.advance(con, moment, moment + UPCOMING_LAG + timedelta(hours=1))
        self.cluster_rollups()

    def cluster_rollups(self, slack: int = clustering.SLACK) -> list[str]:
        """Rewrite in period order the period rollups that have scattered (the tables rewritten)."""
        with self._writing() as con:
            return clustering.keep(con, slack)

    @contextmanager
    def _writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The writer's connection inside one transaction of its own, committed unless an error escapes."""
        with self._lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield self.con
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise

    def pending(self) -> int:
        return max(0, (self._max_position() or 0) - self.position)

    def run_forever(self, stop: threading.Event, interval: float = 0.05, busy: Busy = None) -> None:
        """Catch up and refresh as they fall due (reporting/cadence.py), making way while `busy()`
        (infrastructure/foreground.py)."""
        last_advance = -UPCOMING_INTERVAL
        cadence = Cadence(self.snapshot_wait, self.pending, self.batch_size)
        foreground = MakeWay(busy)
        while not stop.is_set():
            try:
                if time.monotonic() - last_advance >= UPCOMING_INTERVAL:
                    self.advance_upcoming()
                    last_advance = time.monotonic()
                catch_up, refresh = cadence.due(time.monotonic())
                if foreground.put_off(catch_up or refresh):
                    catch_up = refresh = False
                if catch_up:
                    self.catch_up()
                    cadence.caught_up(time.monotonic())
                if refresh:
                    self.publish_snapshot()
                    cadence.refreshed(time.monotonic())
            except Exception:
                log.exception("reporting projection failed; retrying")
                stop.wait(1.0)
            stop.wait(interval)

    # -- analyst snapshot ----------------------------------------------------------------------------

    def snapshot_wait(self) -> float:
        """Seconds between the end of one snapshot and the start of the next: `snapshot_interval`, or
        `SNAPSHOT_DUTY` times the last copy's duration if that is longer (a 220 MB store at 1.2 million
        events takes about 4 s to copy; copying it every 2 s would keep the owner copying most of the time,
        in competition with the analytics requests it serves)."""
        return max(self.snapshot_interval, SNAPSHOT_DUTY * self._snapshot_seconds)

    def publish_snapshot(self, force: bool = False) -> bool:
        """Bring the snapshot up to date (reporting/snapshot.py): the file the snapshot link does not
        name gets the rows changed since its own position (a full copy when it has none), then the link
        moves to it atomically. Readers that have the old file open keep reading it. The copy reads one
        consistent state of the store (tracking row included) while the projection goes on writing.
        False when nothing changed, or when a reader still holds the file to write (tried again later)."""
        with self._snapshot_lock:
            if not force and self._published == self.position and self.snapshot_path.exists():
                return False
            began = time.monotonic()
            cursor = self.cursor()
            try:
                done = self._buffers.refresh(cursor)
            finally:
                cursor.close()
            if done is None:
                return False
            self._published, self.last_refresh_incremental = done
            self._snapshot_seconds = time.monotonic() - began
            upto = self._buffers.prunable()
            if upto is not None and time.monotonic() - self._pruned < PRUNE_INTERVAL:
                upto = None  # a write on the live store each time would cost more than the journal rows
        if upto is not None:
            self._pruned = time.monotonic()
            with self._writing() as con:
                snapshot.prune(con, upto)
        return True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._snapshot_lock, self._lock:
            for connection in (self._readers, *(() if self.direct is None else (self.direct,))):
                connection.close()
            self.con.close()
