"""The body of `GET /api/v1/health`.

- `status`: `up`, or `degraded` while some projection has parked events (`parkedEvents` says how
  many). Degraded still answers 200: the process serves requests, and a load balancer must not
  evict it for a parked event (an operator looks at `consult doctor`).
- `projectionLag`, per projection: the event log's head minus the projection's tracking position
  (0 = up to date). The read-model projections are read from their tracking table (whoever runs
  them: this process or a worker); the DuckDB reporting store appears when this process owns it.
  The parked count and the lag are read at most once per `FRESH_FOR` seconds per process (at once
  after this process parks or unparks an event), and a fresh reading is answered on the event loop
  without a thread hop, so the health route stays the trivial route that load balancers poll and
  benchmarks compare against."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from infrastructure import parking
from infrastructure.tables import projection_tracking
from reporting import parked as reporting_parked

log = logging.getLogger(__name__)

FRESH_FOR = 1.0


@dataclass(frozen=True)
class Reading:
    at: float
    parking_changes: int  # `parking.changes()` when read: a park or unpark in this process reads afresh
    parked: int
    lag: dict[str, int]


_cache: dict[int, Reading] = {}
_lock = threading.Lock()


def _lag(container: Any) -> dict[str, int]:
    head = int(container.market.recorder.max_notification_id() or 0)
    with container.engine.connect() as conn:
        rows = conn.execute(sa.select(projection_tracking.c.name, projection_tracking.c.position)).all()
    lag = {str(name): max(0, head - int(position or 0)) for name, position in rows}
    if container.reporting is not None:
        lag["reporting"] = max(0, head - int(container.reporting.position))
    return lag


def parked_count(container: Any) -> int:
    """Parked events of the read models, plus the reporting store's when this process owns it."""
    total = parking.count(container.engine)
    store = container.reporting
    if store is not None:
        cursor = store.cursor()
        try:
            total += reporting_parked.count(cursor)
        finally:
            cursor.close()
    return total


def fresh(container: Any) -> Reading | None:
    """The cached reading, if it is under `FRESH_FOR` seconds old and nothing was parked since."""
    with _lock:
        reading = _cache.get(id(container))
    if reading is None or time.monotonic() - reading.at >= FRESH_FOR or reading.parking_changes != parking.changes():
        return None
    return reading


def read(container: Any) -> Reading:
    """Read the parked count and the lag now (blocking: a database query and a DuckDB cursor)."""
    reading = Reading(time.monotonic(), parking.changes(), parked_count(container), _lag(container))
    with _lock:
        _cache[id(container)] = reading
    return reading


async def current_reading(container: Any) -> Reading:
    """A fresh reading from the cache (on the event loop), or read now on a worker thread."""
    return fresh(container) or await run_in_threadpool(read, container)


def health_body(reading: Reading) -> dict[str, Any]:
    return {
        "status": "degraded" if reading.parked else "up",
        "parkedEvents": reading.parked,
        "projectionLag": dict(reading.lag),
    }
