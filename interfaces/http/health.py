"""The body of `GET /api/v1/health`.

- `status`: `up`, or `degraded` while some projection has parked events (`parkedEvents` says how
  many). Degraded still answers 200: the process serves requests, and a load balancer must not
  evict it for a parked event (an operator looks at `consult doctor`).
- `projectionLag`, per projection: the event log's head minus the projection's tracking position
  (0 = up to date). The read-model projections are read from their tracking table (whoever runs
  them: this process or a worker); the DuckDB reporting store appears when this process owns it.
  The lag is read at most once per `FRESH_FOR` seconds per process, so the health route stays the
  trivial route that load balancers poll and benchmarks compare against."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import sqlalchemy as sa

from infrastructure import parking
from infrastructure.tables import projection_tracking
from reporting import parked as reporting_parked

log = logging.getLogger(__name__)

FRESH_FOR = 1.0
_cache: dict[int, tuple[float, dict[str, int]]] = {}
_lock = threading.Lock()


def _lag(container: Any) -> dict[str, int]:
    head = int(container.market.recorder.max_notification_id() or 0)
    with container.engine.connect() as conn:
        rows = conn.execute(sa.select(projection_tracking.c.name, projection_tracking.c.position)).all()
    lag = {str(name): max(0, head - int(position or 0)) for name, position in rows}
    if container.reporting is not None:
        lag["reporting"] = max(0, head - int(container.reporting.position))
    return lag


def projection_health(container: Any) -> dict[str, Any]:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(id(container))
    if cached is None or now - cached[0] >= FRESH_FOR:
        cached = (now, _lag(container))
        with _lock:
            _cache[id(container)] = cached
    return {"projectionLag": dict(cached[1])}


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


def health_body(container: Any) -> dict[str, Any]:
    count = parked_count(container)
    return {"status": "degraded" if count else "up", "parkedEvents": count}
