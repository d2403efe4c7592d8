"""Parking: a projection never jams on an event it cannot apply.

The runner applies a batch in one transaction (the fast path). When that transaction fails with
an error that is not transient (a constraint the event breaks, a value the database cannot hold, a
projector bug), the batch is split in halves and each half is applied the same way, down to single
events; a single event is applied projector by projector, each in a savepoint, and a projector
that fails on it has the event parked: a row of `parked_events` (position, projection, topic,
originator, error, time) is written in the same transaction as the other projectors' rows and the
tracking position, and the failure is logged at ERROR. The runner then goes on with the next
event. A transient error (the database unreachable, a lock timeout, a serialization failure) parks
nothing: the batch is rolled back and retried as before.

`consult doctor` lists the parked events, `consult projections retry` re-applies them, and
`GET /api/v1/health` says `degraded` while any is parked."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import sqlalchemy as sa

from infrastructure.parking_tables import parked_events

log = logging.getLogger(__name__)
ERROR_MAX = 2000  # characters of an error's text kept
RECENT_MAX = 10_000  # parked positions a runner remembers for the read-your-writes barrier
_changes = 0  # bumped whenever this process parks or unparks: its health answer is read afresh at once


def changes() -> int:
    """How many times this process has parked or unparked an event (health's cache key)."""
    return _changes


def changed() -> None:
    global _changes
    _changes += 1


TRANSIENT = (
    sa.exc.OperationalError,  # connection lost, "database is locked", deadlock, serialization failure
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    ConnectionError,
    TimeoutError,
    MemoryError,
)


def is_transient(error: BaseException) -> bool:
    """An error that says nothing about the event: retry the batch, never park it. PostgreSQL's
    "program limit exceeded" (a value too big for an index) is an OperationalError caused by the
    event itself: retrying it would jam the projection, so it is parked like a constraint."""
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(getattr(error, "orig", error), psycopg.errors.ProgramLimitExceeded):
        return False
    return isinstance(error, TRANSIENT)


def error_text(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".replace("\x00", "\\x00")
    return text if len(text) <= ERROR_MAX else text[: ERROR_MAX - 1] + "…"


def projector_name(projector: Any) -> str:
    """`SettingsProjector` -> `settings` (the `projection` column of a parked event)."""
    return str(getattr(projector, "name", None) or type(projector).__name__.removesuffix("Projector").lower())


def originator_of(notification: Any) -> str | None:
    originator = getattr(notification, "originator_id", None)
    return None if originator is None else getattr(originator, "hex", str(originator))[:64]


@dataclass(frozen=True)
class Parked:
    projection: str
    position: int
    topic: str
    originator_id: str | None
    error: str
    parked_at: datetime
    attempts: int = 1

    def as_json(self) -> dict[str, Any]:
        return {
            "projection": self.projection,
            "position": self.position,
            "topic": self.topic,
            "originatorId": self.originator_id,
            "error": self.error,
            "parkedAt": self.parked_at.isoformat(),
            "attempts": self.attempts,
        }


def record(conn: sa.Connection, projection: str, notification: Any, error: BaseException) -> Parked:
    """Park `notification` for `projection` in the caller's transaction (replacing an older row)."""
    parked = Parked(
        projection,
        int(notification.id),
        str(notification.topic),
        originator_of(notification),
        error_text(error),
        datetime.now(UTC),
    )
    changed()
    key = (parked_events.c.projection == projection) & (parked_events.c.position == parked.position)
    attempts = conn.execute(sa.select(parked_events.c.attempts).where(key)).scalar()
    conn.execute(parked_events.delete().where(key))
    conn.execute(
        parked_events.insert().values(
            projection=projection,
            position=parked.position,
            topic=parked.topic,
            originator_id=parked.originator_id,
            error=parked.error,
            parked_at=parked.parked_at,
            attempts=(attempts or 0) + 1,
        )
    )
    log.error(
        "PARKED event at position %s (topic %s, originator %s) in projection %s: %s",
        parked.position,
        parked.topic,
        parked.originator_id,
        projection,
        parked.error,
    )
    return parked


def count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(parked_events)).scalar() or 0)


def listed(engine: sa.Engine, position: int | None = None) -> list[Parked]:
    query = sa.select(parked_events).order_by(parked_events.c.position, parked_events.c.projection)
    if position is not None:
        query = query.where(parked_events.c.position == position)
    with engine.connect() as conn:
        return [Parked(**row._mapping) for row in conn.execute(query)]


def parked_between(engine: sa.Engine, first: int, last: int) -> list[Parked]:
    query = sa.select(parked_events).where(parked_events.c.position.between(first, last))
    with engine.connect() as conn:
        return [Parked(**row._mapping) for row in conn.execute(query)]


def forget(conn: sa.Connection, projections: Iterable[str]) -> None:
    """Drop the parked events of these projections (a rebuild parks again what still fails)."""
    changed()
    conn.execute(parked_events.delete().where(parked_events.c.projection.in_(list(projections))))


def unpark(conn: sa.Connection, projection: str, position: int) -> None:
    changed()
    conn.execute(
        parked_events.delete().where(
            (parked_events.c.projection == projection) & (parked_events.c.position == position)
        )
    )
